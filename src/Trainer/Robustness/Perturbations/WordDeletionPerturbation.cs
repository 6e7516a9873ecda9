namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Whole words deleted with the space after them; at least one word always stays.</summary>
public sealed class WordDeletionPerturbation : IPromptPerturbation
{
    public string Name => "deletion";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.1 : 0.25;
        var editor = new TextEditor(Name, text);
        var words = TextEditor.Words(text);
        int deleted = 0;
        foreach ((int start, int length) in words)
        {
            if (deleted + 1 >= words.Count || !random.Chance(share))
                continue;
            int end = start + length < text.Length && text[start + length] == ' ' ? start + length + 1 : start + length;
            editor.Replace(start, end - start, "", "delete-word");
            deleted++;
        }
        return editor.Build();
    }
}
