namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Punctuation noise: a stray mark after a word, or an existing mark dropped.</summary>
public sealed class PunctuationPerturbation : IPromptPerturbation
{
    private static readonly string[] Marks = [",", ".", ";", "!", "?", "...", "-"];

    public string Name => "punctuation";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.08 : 0.25;
        var editor = new TextEditor(Name, text);
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsPunctuation(text[i]) && random.Chance(share))
                editor.Replace(i, 1, "", "drop-mark");
        }
        foreach ((int start, int length) in TextEditor.Words(text))
        {
            if (random.Chance(share))
                editor.Insert(start + length, random.Pick(Marks), "add-mark");
        }
        return editor.Build();
    }
}
