using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tokenization;

/// <summary>Plain-text role tags (<c>&lt;|user|&gt;\n...</c>) for tokenizers without a chat format of their own.</summary>
public sealed class RoleTagChatTemplate : IChatTemplate
{
    public string Name => "role-tags";

    public IReadOnlyList<TextSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        var segments = new List<TextSegment>();
        foreach (ChatMessage message in messages)
        {
            segments.Add(new TextSegment($"<|{message.Role}|>\n", false));
            segments.Add(new TextSegment(message.Content + "\n", message.Role == "assistant"));
        }
        if (addGenerationPrompt)
            segments.Add(new TextSegment("<|assistant|>\n", false));
        return segments;
    }
}
