namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Emoji inserted between words (whole code points: surrogate pairs are never split).</summary>
public sealed class EmojiPerturbation : IPromptPerturbation
{
    private static readonly string[] Emoji = ["😀", "🙂", "🔥", "👍", "✨", "🚀", "💡", "😂", "🎉", "❤️", "🤔", "✅"];

    public string Name => "emoji";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.08 : 0.25;
        var editor = new TextEditor(Name, text);
        foreach ((int start, int length) in TextEditor.Words(text))
        {
            if (random.Chance(share))
                editor.Insert(start + length, " " + random.Pick(Emoji), "insert-emoji");
        }
        return editor.Build();
    }
}
