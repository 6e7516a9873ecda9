namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Whitespace noise: doubled spaces, a space lost between two words, a stray space inside a word.</summary>
public sealed class SpacingPerturbation : IPromptPerturbation
{
    public string Name => "spacing";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.1 : 0.3;
        var editor = new TextEditor(Name, text);
        var words = TextEditor.Words(text);
        for (int i = 0; i < words.Count; i++)
        {
            if (!random.Chance(share))
                continue;
            (int start, int length) = words[i];
            int end = start + length;
            switch (random.Next(3))
            {
                case 0 when end < text.Length && text[end] == ' ':
                    editor.Insert(end, " ", "double-space");
                    break;
                case 1 when end < text.Length && text[end] == ' ' && i + 1 < words.Count && words[i + 1].Start == end + 1:
                    editor.Replace(end, 1, "", "join-words");
                    break;
                case 2 when length >= 4 && !text.Substring(start, length).Any(char.IsSurrogate):
                    editor.Insert(start + 1 + random.Next(length - 2), " ", "split-word");
                    break;
            }
        }
        return editor.Build();
    }
}
