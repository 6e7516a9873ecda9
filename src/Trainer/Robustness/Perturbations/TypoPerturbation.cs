namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>Keyboard typos inside words: swap two neighbouring letters, drop one, insert or substitute a QWERTY neighbour.</summary>
public sealed class TypoPerturbation : IPromptPerturbation
{
    private static readonly Dictionary<char, string> Neighbours = new()
    {
        ['q'] = "wa", ['w'] = "qeas", ['e'] = "wrsd", ['r'] = "etdf", ['t'] = "ryfg", ['y'] = "tugh", ['u'] = "yihj",
        ['i'] = "uojk", ['o'] = "ipkl", ['p'] = "ol", ['a'] = "qwsz", ['s'] = "awedxz", ['d'] = "serfcx", ['f'] = "drtgvc",
        ['g'] = "ftyhbv", ['h'] = "gyujnb", ['j'] = "huikmn", ['k'] = "jiolm", ['l'] = "kop", ['z'] = "asx", ['x'] = "zsdc",
        ['c'] = "xdfv", ['v'] = "cfgb", ['b'] = "vghn", ['n'] = "bhjm", ['m'] = "njk",
    };

    public string Name => "typo";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.1 : 0.3;
        var editor = new TextEditor(Name, text);
        foreach ((int start, int length) in TextEditor.Words(text))
        {
            string word = text.Substring(start, length);
            // Only plain letters: a typo never splits a surrogate pair or strands a combining mark.
            if (length < 2 || word.Any(c => char.IsSurrogate(c) || !char.IsLetter(c)) || !random.Chance(share))
                continue;
            int at = random.Next(length);
            switch (random.Next(4))
            {
                case 0:
                    int left = Math.Min(at, length - 2);
                    editor.Replace(start + left, 2, $"{word[left + 1]}{word[left]}", "swap");
                    break;
                case 1:
                    editor.Replace(start + at, 1, "", "drop");
                    break;
                case 2:
                    editor.Insert(start + at, Neighbour(word[at], ref random).ToString(), "insert");
                    break;
                default:
                    editor.Replace(start + at, 1, Neighbour(word[at], ref random).ToString(), "replace");
                    break;
            }
        }
        return editor.Build();
    }

    /// <summary>A key next to <paramref name="letter"/> on a QWERTY keyboard, in the same case; the letter itself if it has none.</summary>
    private static char Neighbour(char letter, ref PerturbationRandom random)
    {
        if (!Neighbours.TryGetValue(char.ToLowerInvariant(letter), out string? keys))
            return letter;
        char key = keys[random.Next(keys.Length)];
        return char.IsUpper(letter) ? char.ToUpperInvariant(key) : key;
    }
}
