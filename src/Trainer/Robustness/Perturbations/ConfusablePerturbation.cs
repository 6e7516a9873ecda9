namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>
/// Unicode confusables: Latin letters swapped for look-alike Cyrillic or Greek ones (homoglyphs), or letters and
/// digits for their full-width forms. Light favours homoglyphs, heavy mixes both at a higher rate.
/// </summary>
public sealed class ConfusablePerturbation : IPromptPerturbation
{
    // From Unicode's confusables list: each pair renders (nearly) the same in common fonts.
    private static readonly Dictionary<char, char> Homoglyphs = new()
    {
        ['a'] = 'а', ['c'] = 'с', ['e'] = 'е', ['i'] = 'і', ['j'] = 'ј', ['o'] = 'о', ['p'] = 'р', ['s'] = 'ѕ', ['x'] = 'х',
        ['y'] = 'у', ['A'] = 'А', ['B'] = 'В', ['C'] = 'С', ['E'] = 'Е', ['H'] = 'Н', ['I'] = 'І', ['K'] = 'К', ['M'] = 'М',
        ['O'] = 'О', ['P'] = 'Р', ['T'] = 'Т', ['X'] = 'Х', ['Y'] = 'Υ', ['Z'] = 'Ζ', ['N'] = 'Ν', ['v'] = 'ν',
    };

    public string Name => "confusable";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.05 : 0.2;
        double fullWidthShare = severity == PerturbationSeverity.Light ? 0.2 : 0.5;
        var editor = new TextEditor(Name, text);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsAsciiLetterOrDigit(c) || !random.Chance(share))
                continue;
            bool hasHomoglyph = Homoglyphs.TryGetValue(c, out char homoglyph);
            if (hasHomoglyph && !random.Chance(fullWidthShare))
                editor.Replace(i, 1, homoglyph.ToString(), "homoglyph");
            else
                editor.Replace(i, 1, ((char)(c - 0x21 + 0xFF01)).ToString(), "full-width");   // U+FF01.. mirrors U+0021..
        }
        return editor.Build();
    }
}
