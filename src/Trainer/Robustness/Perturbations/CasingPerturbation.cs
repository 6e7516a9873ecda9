namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Casing noise: light flips the first letter of some words, heavy also upper-cases or randomly cases whole words.</summary>
public sealed class CasingPerturbation : IPromptPerturbation
{
    public string Name => "casing";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.15 : 0.4;
        var editor = new TextEditor(Name, text);
        foreach ((int start, int length) in TextEditor.Words(text))
        {
            string word = text.Substring(start, length);
            if (word.Any(char.IsSurrogate) || !random.Chance(share))
                continue;
            int operation = severity == PerturbationSeverity.Light ? 0 : random.Next(3);
            string cased = operation switch
            {
                0 => Flip(word[0]) + word[1..],
                1 => word.ToUpperInvariant(),
                _ => RandomCase(word, ref random),
            };
            if (cased != word)
                editor.Replace(start, length, cased, operation switch { 0 => "flip-first", 1 => "upper", _ => "random-case" });
        }
        return editor.Build();
    }

    private static string RandomCase(string word, ref PerturbationRandom random)
    {
        char[] letters = word.ToCharArray();
        for (int i = 0; i < letters.Length; i++)
        {
            if (random.Chance(0.5))
                letters[i] = Flip(letters[i]);
        }
        return new string(letters);
    }

    private static char Flip(char c) => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c);
}
