using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// Llama 2 chat: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;</c>, one
/// &lt;s&gt;…&lt;/s&gt; per exchange, the system prompt folded into the first user turn (as Meta's and Hugging Face's template do).
/// </summary>
public sealed class Llama2ChatTemplate(int bosId, int eosId) : IChatTemplate
{
    public string Name => "llama2";

    public IReadOnlyList<TextSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false)
    {
        var segments = new List<TextSegment>();
        string? system = null;
        foreach (ChatMessage message in messages)
        {
            switch (message.Role)
            {
                case "system":
                    system = message.Content.Trim();
                    break;
                case "user":
                    string user = system is null ? message.Content.Trim() : $"<<SYS>>\n{system}\n<</SYS>>\n\n{message.Content.Trim()}";
                    system = null;
                    segments.Add(new TextSegment("<s>", false, bosId));
                    segments.Add(new TextSegment($"[INST] {user} [/INST]", false));
                    break;
                case "assistant":
                    segments.Add(new TextSegment($" {message.Content.Trim()} ", true));
                    segments.Add(new TextSegment("</s>", true, eosId));
                    break;
                default:
                    throw new ArgumentException($"role '{message.Role}' is not system, user or assistant", nameof(messages));
            }
        }
        return segments;
    }
}
