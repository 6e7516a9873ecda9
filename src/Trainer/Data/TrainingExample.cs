namespace FlatLora.Trainer.Data;

/// <summary>A piece of an example's text; the loss covers only target segments (the responses).</summary>
public sealed record TextSegment(string Text, bool IsTarget);

/// <summary>One example as alternating prompt and response text, with where it came from (file:line).</summary>
public sealed record TrainingExample(IReadOnlyList<TextSegment> Segments, string Source)
{
    public static TrainingExample PromptResponse(string prompt, string response, string source) =>
        new([new TextSegment(prompt, false), new TextSegment(response, true)], source);

    public string Prompt => string.Concat(Segments.TakeWhile(s => !s.IsTarget).Select(s => s.Text));
    public string Response => string.Concat(Segments.Where(s => s.IsTarget).Select(s => s.Text));
}
