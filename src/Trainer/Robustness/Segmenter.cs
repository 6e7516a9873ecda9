using System.Text.RegularExpressions;

namespace FlatLora.Trainer.Robustness;

/// <summary>
/// A semantic unit of a generation: a sentence or clause, where it sits in the text, and what makes it critical
/// (numbers and named entities, whose change flips the meaning while the sentence still looks similar).
/// </summary>
public sealed record TextUnit(int Index, int Start, string Text, IReadOnlyList<string> Numbers, IReadOnlyList<string> Entities)
{
    public int End => Start + Text.Length;
    public bool IsCritical => Numbers.Count > 0 || Entities.Count > 0;
}

/// <summary>
/// Splits text into sentences and clauses on punctuation, as S2R2 does (the paper found a stronger segmenter gave
/// similar results). Our rules, since the paper leaves them open:
/// - split after . ! ? ; : and line breaks, and after a comma when the clauses on both sides have three words or more;
/// - never inside a number (12,500 or 3.14) or after an initial or a common abbreviation (Dr. e.g.);
/// - numbers are digit runs with separators, signs and %; entities are runs of capitalised words, where a
///   sentence's first word counts only when it is not a common sentence opener ("The", "It", ...).
/// </summary>
public static partial class Segmenter
{
    private const int MinClauseWords = 3;

    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "no", "fig", "approx", "jr", "sr", "inc", "ltd", "co",
    };

    private static readonly HashSet<string> SentenceOpeners = new(StringComparer.Ordinal)
    {
        "The", "A", "An", "This", "That", "These", "Those", "It", "Its", "He", "She", "We", "They", "I", "You", "In", "On",
        "At", "For", "But", "And", "Or", "If", "When", "While", "As", "So", "Then", "There", "Here", "Yes", "No", "Our",
        "My", "Your", "His", "Her", "Their", "To", "Of", "With", "By", "From", "After", "Before", "However", "Also",
    };

    [GeneratedRegex(@"[-+]?\d+(?:[.,:]\d+)*%?")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"\b\p{Lu}[\p{L}\p{M}'’-]*(?:\s+\p{Lu}[\p{L}\p{M}'’-]*)*")]
    private static partial Regex CapitalisedRunPattern();

    [GeneratedRegex(@"[\p{L}\p{M}\p{N}]+")]
    private static partial Regex WordPattern();

    public static IReadOnlyList<TextUnit> Split(string text)
    {
        var spans = new List<(int Start, int End)>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!IsBoundary(text, i))
                continue;
            spans.Add((start, i + 1));
            start = i + 1;
        }
        spans.Add((start, text.Length));

        // Trim, drop empty pieces, and fold short comma fragments back into the clause before them.
        var merged = new List<(int Start, int End)>();
        foreach ((int s, int e) in spans)
        {
            (int ts, int te) = Trim(text, s, e);
            if (te <= ts)
                continue;
            bool afterComma = merged.Count > 0 && text[merged[^1].End - 1] == ',';
            bool fragment = afterComma && (WordCount(text[merged[^1].Start..merged[^1].End]) < MinClauseWords || WordCount(text[ts..te]) < MinClauseWords);
            if (fragment)
                merged[^1] = (merged[^1].Start, te);
            else
                merged.Add((ts, te));
        }

        var sentenceStarts = SentenceStarts(text);
        return merged.Select((span, index) =>
        {
            string piece = text[span.Start..span.End];
            var numbers = NumberPattern().Matches(piece).Select(m => m.Value.TrimEnd('.', ',', ':')).ToList();
            var entities = CapitalisedRunPattern().Matches(piece)
                .Select(m => Entity(m.Value, sentenceStarts.Contains(span.Start + m.Index)))
                .Where(e => e.Length > 0)
                .ToList();
            return new TextUnit(index, span.Start, piece, numbers, entities);
        }).ToList();
    }

    private static bool IsBoundary(string text, int i)
    {
        char c = text[i];
        if (c == '\n')
            return true;
        bool followedBySpace = i + 1 >= text.Length || char.IsWhiteSpace(text[i + 1]);
        switch (c)
        {
            case '!' or '?' or ';':
                return followedBySpace;
            case ':' or ',':
                // Not inside a number or a time: "12,500", "10:30".
                return followedBySpace && !(i > 0 && char.IsDigit(text[i - 1]) && i + 1 < text.Length && char.IsDigit(text[i + 1]));
            case '.':
                if (!followedBySpace)
                    return false;
                string word = PrecedingWord(text, i);
                bool initial = word.Length == 1 && char.IsUpper(word[0]);
                return !initial && !Abbreviations.Contains(word);
            default:
                return false;
        }
    }

    private static string PrecedingWord(string text, int dot)
    {
        int start = dot;
        while (start > 0 && (char.IsLetter(text[start - 1]) || text[start - 1] == '.'))
            start--;
        return text[start..dot];
    }

    /// <summary>Where sentences begin: the start of the text and the first letter after . ! ? or a line break.</summary>
    private static HashSet<int> SentenceStarts(string text)
    {
        var starts = new HashSet<int>();
        bool atStart = true;
        for (int i = 0; i < text.Length; i++)
        {
            if (atStart && char.IsLetterOrDigit(text[i]))
            {
                starts.Add(i);
                atStart = false;
            }
            else if (text[i] is '.' or '!' or '?' or '\n' && (i + 1 >= text.Length || char.IsWhiteSpace(text[i + 1])))
                atStart = true;
        }
        return starts;
    }

    // At a sentence start, a common opener is not an entity: "The Eiffel Tower" yields "Eiffel Tower".
    private static string Entity(string run, bool atSentenceStart)
    {
        if (!atSentenceStart)
            return run == "I" ? "" : run;
        string[] words = run.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return SentenceOpeners.Contains(words[0]) ? string.Join(' ', words.Skip(1)) : run;
    }

    private static (int Start, int End) Trim(string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
            start++;
        while (end > start && char.IsWhiteSpace(text[end - 1]))
            end--;
        return (start, end);
    }

    private static int WordCount(string text) => WordPattern().Count(text);
}
