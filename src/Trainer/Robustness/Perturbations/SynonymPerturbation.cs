namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>
/// Words replaced by a synonym from a small built-in English lexicon of common words, keeping the word's casing
/// (lower, Capitalised or UPPER). Light replaces some of the words the lexicon knows, heavy most of them.
/// </summary>
public sealed class SynonymPerturbation : IPromptPerturbation
{
    private static readonly Dictionary<string, string[]> Lexicon = Build(
        "big|large|huge", "small|little|tiny", "fast|quick|rapid", "slow|sluggish|unhurried", "good|fine|decent",
        "bad|poor|awful", "happy|glad|cheerful", "sad|unhappy|gloomy", "begin|start|commence", "end|finish|conclude",
        "make|create|produce", "use|employ|utilize", "help|assist|aid", "show|display|reveal", "buy|purchase|acquire",
        "get|obtain|receive", "give|provide|offer", "tell|inform|notify", "ask|inquire|query", "answer|reply|respond",
        "write|compose|draft", "read|peruse|study", "say|state|mention", "think|believe|consider", "choose|select|pick",
        "explain|describe|clarify", "list|enumerate|itemize", "summarize|condense|sum up", "translate|render|convert",
        "find|locate|discover", "important|crucial|significant", "easy|simple|effortless", "hard|difficult|tough",
        "smart|clever|bright", "old|aged|ancient", "new|fresh|novel", "rich|wealthy|affluent", "many|numerous|plenty of",
        "often|frequently|regularly", "maybe|perhaps|possibly", "very|extremely|highly", "about|regarding|concerning",
        "answer|response|reply", "question|query|inquiry", "story|tale|narrative", "house|home|residence",
        "car|automobile|vehicle", "child|kid|youngster", "job|work|occupation", "city|town|municipality",
        "problem|issue|difficulty", "idea|notion|concept", "result|outcome|consequence", "mistake|error|blunder",
        "quickly|rapidly|swiftly", "correct|right|accurate", "wrong|incorrect|mistaken", "short|brief|concise",
        "long|lengthy|extended", "please|kindly|if you would");

    public string Name => "synonym";

    public PerturbedText Apply(string text, PerturbationSeverity severity, ref PerturbationRandom random)
    {
        double share = severity == PerturbationSeverity.Light ? 0.3 : 0.8;
        var editor = new TextEditor(Name, text);
        foreach ((int start, int length) in TextEditor.Words(text))
        {
            string word = text.Substring(start, length);
            if (!Lexicon.TryGetValue(word.ToLowerInvariant(), out string[]? synonyms) || !random.Chance(share))
                continue;
            editor.Replace(start, length, MatchCase(word, random.Pick(synonyms)), "synonym");
        }
        return editor.Build();
    }

    private static string MatchCase(string original, string synonym)
    {
        if (original.Length > 1 && original.All(c => !char.IsLetter(c) || char.IsUpper(c)))
            return synonym.ToUpperInvariant();
        return char.IsUpper(original[0]) ? char.ToUpperInvariant(synonym[0]) + synonym[1..] : synonym;
    }

    // Each group lists words of one sense; every word maps to the others in its group.
    private static Dictionary<string, string[]> Build(params string[] groups)
    {
        var lexicon = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (string group in groups)
        {
            string[] words = group.Split('|');
            foreach (string word in words.Where(w => !w.Contains(' ', StringComparison.Ordinal)))
            {
                string[] others = words.Where(w => w != word).ToArray();
                lexicon[word] = lexicon.TryGetValue(word, out string[]? known) ? [.. known.Union(others)] : others;
            }
        }
        return lexicon;
    }
}
