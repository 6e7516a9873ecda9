namespace FlatLora.Spec;

/// <summary>Training and evaluation data.</summary>
public sealed record DataSpec
{
    /// <summary>A task generated in code (no download): "tiny-shift". Ignored when <see cref="Train"/> is set.</summary>
    public string? Builtin { get; init; } = "tiny-shift";

    /// <summary>JSONL training file.</summary>
    public string? Train { get; init; }

    /// <summary>JSONL evaluation file; without one, <see cref="EvalFraction"/> of the training file is held out.</summary>
    public string? Eval { get; init; }

    public double EvalFraction { get; init; } = 0.1;

    /// <summary>auto, alpaca, prompt_completion, messages or classification.</summary>
    public string Format { get; init; } = "auto";

    /// <summary>Prompt template for alpaca-style records: alpaca (the Stanford template) or plain.</summary>
    public string Template { get; init; } = "alpaca";

    /// <summary>
    /// A dataset's own column names mapped onto roles: prompt, response, instruction, input, messages, text, label
    /// (for example prompt: question, response: answer). Empty: the layout's own names.
    /// </summary>
    public Dictionary<string, string> Columns { get; init; } = [];

    /// <summary>Tokens per example; longer examples are cut (and counted in the run summary).</summary>
    public int MaxSeqLen { get; init; } = 256;
}
