using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// Llama 3 chat: <c>&lt;|begin_of_text|&gt;</c>, then per turn <c>&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;</c>.
/// </summary>
public sealed class Llama3ChatTemplate(int beginOfText, int startHeader, int endHeader, int endOfTurn) : IChatTemplate
{
    public string Name => "llama3";

    public IReadOnlyList<TextSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        var segments = new List<TextSegment> { new("<|begin_of_text|>", false, beginOfText) };
        foreach (ChatMessage message in messages)
        {
            bool target = message.Role == "assistant";
            AddHeader(segments, message.Role);
            segments.Add(new TextSegment(message.Content.Trim(), target));
            segments.Add(new TextSegment("<|eot_id|>", target, endOfTurn));
        }
        if (addGenerationPrompt)
            AddHeader(segments, "assistant");
        return segments;
    }

    private void AddHeader(List<TextSegment> segments, string role)
    {
        segments.Add(new TextSegment("<|start_header_id|>", false, startHeader));
        segments.Add(new TextSegment(role, false));
        segments.Add(new TextSegment("<|end_header_id|>", false, endHeader));
        segments.Add(new TextSegment("\n\n", false));
    }
}
