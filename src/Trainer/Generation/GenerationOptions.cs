namespace FlatLora.Trainer.Generation;

/// <summary>How to continue prompts. Temperature 0 is greedy decoding.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; }
    public double TopP { get; init; } = 1.0;

    /// <summary>Seeds sampling (ignored when greedy); the same seed gives the same text on any device.</summary>
    public long Seed { get; init; }

    /// <summary>Reuse keys and values of earlier positions; off recomputes the whole sequence every step (for checks).</summary>
    public bool UseCache { get; init; } = true;

    public void Validate()
    {
        if (MaxNewTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "--max-new-tokens must be at least 1");
        if (Temperature < 0 || !double.IsFinite(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "--temperature must be 0 (greedy) or positive");
        if (TopP is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "--top-p must be in (0, 1]");
    }
}

/// <summary>One continuation: the prompt's ids, the generated tokens and text, and why it ended ("stop": a stop token; "length": the budget ran out).</summary>
public sealed record GenerationResult(string Prompt, IReadOnlyList<int> PromptTokens, IReadOnlyList<int> Tokens, string Text, string FinishReason);
