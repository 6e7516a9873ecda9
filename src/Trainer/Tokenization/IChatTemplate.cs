using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tokenization;

/// <summary>One chat turn: role is system, user or assistant.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Lays out a conversation the way a model family was trained to read it. Assistant turns (with their closing
/// token) are target segments; special tokens are segments with an id, never text.
/// </summary>
public interface IChatTemplate
{
    string Name { get; }

    IReadOnlyList<TextSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = false);
}
