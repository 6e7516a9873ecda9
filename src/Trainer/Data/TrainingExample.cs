namespace FlatLora.Trainer.Data;

/// <summary>
/// A piece of an example; the loss covers only target segments (the responses). A segment with a
/// <see cref="SpecialTokenId"/> is that one special token (e.g. Llama 3's &lt;|eot_id|&gt;); <see cref="Text"/> then only
/// shows it to people and is never tokenized, so data can't smuggle special tokens in as text.
/// </summary>
public sealed record TextSegment(string Text, bool IsTarget, int? SpecialTokenId = null);

/// <summary>One example as alternating prompt and response text, with where it came from (file:line).</summary>
public sealed record TrainingExample(IReadOnlyList<TextSegment> Segments, string Source)
{
    public static TrainingExample PromptResponse(string prompt, string response, string source) =>
        new([new TextSegment(prompt, false), new TextSegment(response, true)], source);

    public string Prompt => string.Concat(Segments.TakeWhile(s => !s.IsTarget).Select(s => s.Text));
    public string Response => string.Concat(Segments.Where(s => s.IsTarget && s.SpecialTokenId is null).Select(s => s.Text));
}
