namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// Cuts text into pieces that a BPE tokenizer can encode one by one, so encoding stays linear in the text's length
/// (Microsoft.ML.Tokenizers' BPE is quadratic in the length of what it is given at once: a 5 MB line took minutes).
/// A cut goes only before a word separator that follows a non-space character, a place no token spans when the
/// tokenizer's vocabulary and pre-tokenization allow it (checked where the tokenizer is loaded), so the ids are exactly
/// those of encoding the whole text. A run of more than <see cref="LongestRun"/> characters without a separator is cut
/// every <see cref="LongestRun"/> characters: the ids near such a cut may differ from the reference tokenizer's.
/// </summary>
internal static class TextChunks
{
    /// <summary>Pieces are at least this long where the text allows (fewer calls into the library).</summary>
    public const int TargetLength = 1024;

    public const int LongestRun = 10_000;

    public static IEnumerable<(int Start, int Length)> Split(string text, char separator)
    {
        int start = 0, runStart = 0;
        for (int i = 1; i < text.Length; i++)
        {
            bool boundary = text[i] == separator && text[i - 1] != separator && !char.IsWhiteSpace(text[i - 1]);
            if (boundary)
            {
                runStart = i;
                if (i - start >= TargetLength)
                {
                    yield return (start, i - start);
                    start = i;
                }
            }
            else if (i - Math.Max(start, runStart) >= LongestRun)
            {
                yield return (start, i - start);
                start = runStart = i;
            }
        }
        if (start < text.Length)
            yield return (start, text.Length - start);
    }
}
