using System.Text.RegularExpressions;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>ROUGE-L F1 over lower-cased words: the longest common subsequence against a reference.</summary>
public static partial class RougeL
{
    [GeneratedRegex(@"[\p{L}\p{M}\p{N}]+")]
    private static partial Regex WordPattern();

    public static double F1(string candidate, string reference)
    {
        string[] a = Words(candidate), b = Words(reference);
        if (a.Length == 0 || b.Length == 0)
            return a.Length == b.Length ? 1 : 0;
        var lengths = new int[a.Length + 1, b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
                lengths[i, j] = a[i - 1] == b[j - 1] ? lengths[i - 1, j - 1] + 1 : Math.Max(lengths[i - 1, j], lengths[i, j - 1]);
        }
        double lcs = lengths[a.Length, b.Length];
        if (lcs == 0)
            return 0;
        double precision = lcs / a.Length, recall = lcs / b.Length;
        return 2 * precision * recall / (precision + recall);
    }

    private static string[] Words(string text) => WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();
}
