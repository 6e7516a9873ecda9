using System.Text;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Data;

/// <summary>
/// Turns examples into ids with the loss on response tokens (and the closing eos) only. Consecutive text segments
/// are tokenized as one string, as the model will see them, and each token is labelled by the characters it covers,
/// so a prompt/response boundary never changes the tokenization.
/// </summary>
public static class ExampleEncoder
{
    /// <summary>Target id for positions without loss (PyTorch's ignore_index).</summary>
    public const int Ignore = -100;

    public static EncodedExample Encode(TrainingExample example, ITokenizer tokenizer, int maxSeqLen)
    {
        EncodedTokens encoded = TokensWithTargetOffsets(example.Segments, tokenizer, closeWithEos: true, maxTokens: maxSeqLen + 1);
        (List<int> tokens, List<bool> isTarget) = (encoded.Tokens, encoded.IsTarget);
        bool truncated = tokens.Count > maxSeqLen + 1;
        int length = Math.Min(tokens.Count, maxSeqLen + 1);
        var input = new int[length - 1];
        var targets = new int[length - 1];
        for (int t = 0; t < length - 1; t++)
        {
            input[t] = tokens[t];
            targets[t] = isTarget[t + 1] ? tokens[t + 1] : Ignore;
        }
        return new EncodedExample(input, targets, example.Source, truncated) { Example = example };
    }

    /// <summary>Token ids of the segments (bos first where the model uses one) and whether each is a target.</summary>
    public static (List<int> Tokens, List<bool> IsTarget) Tokens(IReadOnlyList<TextSegment> segments, ITokenizer tokenizer, bool closeWithEos)
    {
        EncodedTokens encoded = TokensWithTargetOffsets(segments, tokenizer, closeWithEos);
        return (encoded.Tokens, encoded.IsTarget);
    }

    /// <summary>
    /// Like <see cref="Tokens"/>, plus where each target token starts in <see cref="TrainingExample.Response"/> (the
    /// target texts joined): S2R2 maps target tokens to response segments with it. The closing eos gets the
    /// response's length; tokens that are not targets, and special tokens, get −1.
    /// </summary>
    /// <param name="maxTokens">
    /// Only the first this many tokens are needed (null: all). Text beyond what they can cover is cut before it is
    /// tokenized, so a 5 MB line costs no more than the part of it that is kept.
    /// </param>
    public static EncodedTokens TokensWithTargetOffsets(IReadOnlyList<TextSegment> segments, ITokenizer tokenizer, bool closeWithEos, int? maxTokens = null)
    {
        // n tokens cover at most n × LongestTokenChars characters; the margin keeps the cut off the kept tokens' last
        // word (see TextChunks.LongestRun), so they are exactly those of the whole text.
        long budget = maxTokens is int max ? (max + 2L) * Math.Max(1, tokenizer.LongestTokenChars) + Tokenization.TextChunks.LongestRun : long.MaxValue;
        bool cut = false;
        var tokens = new List<int>();
        var isTarget = new List<bool>();
        var targetOffset = new List<int>();
        int responseLength = 0;
        // Chat templates bring their own begin-of-text token.
        if (tokenizer.BosId is int bos && !(segments.Count > 0 && segments[0].SpecialTokenId is not null))
        {
            tokens.Add(bos);
            isTarget.Add(false);
            targetOffset.Add(-1);
        }
        for (int i = 0; i < segments.Count && !cut;)
        {
            if (segments[i].SpecialTokenId is int special)
            {
                tokens.Add(special);
                isTarget.Add(segments[i].IsTarget);
                targetOffset.Add(-1);
                i++;
                continue;
            }
            var text = new StringBuilder();
            var ranges = new List<(int Start, int End, bool Target, int ResponseStart)>();
            for (; i < segments.Count && segments[i].SpecialTokenId is null; i++)
            {
                ranges.Add((text.Length, text.Length + segments[i].Text.Length, segments[i].IsTarget, responseLength));
                text.Append(segments[i].Text);
                if (segments[i].IsTarget)
                    responseLength += segments[i].Text.Length;
            }
            if (text.Length > budget)
            {
                text.Length = (int)budget;
                cut = true;
            }
            budget -= text.Length;
            foreach (TokenSpan span in tokenizer.EncodeWithOffsets(text.ToString()))
            {
                tokens.Add(span.Id);
                int target = ranges.FindIndex(r => r.Target && Covers(span, r.Start, r.End));
                isTarget.Add(target >= 0);
                targetOffset.Add(target < 0 ? -1 : ranges[target].ResponseStart + Math.Max(0, span.Start - ranges[target].Start));
            }
        }
        // The model learns to stop: eos after the last response counts as a target (unless the template closed it).
        bool closedByTemplate = segments.Count > 0 && segments[^1].SpecialTokenId is int last && tokenizer.StopIds.Contains(last);
        if (closeWithEos && !closedByTemplate && !cut)
        {
            tokens.Add(tokenizer.EosId);
            bool closesResponse = segments.Count > 0 && segments[^1].IsTarget;
            isTarget.Add(closesResponse);
            targetOffset.Add(closesResponse ? responseLength : -1);
        }
        return new EncodedTokens(tokens, isTarget, targetOffset);
    }

    /// <summary>Ids, target flags and target offsets (see <see cref="TokensWithTargetOffsets"/>), one entry per token.</summary>
    public sealed record EncodedTokens(List<int> Tokens, List<bool> IsTarget, List<int> TargetOffset);

    // A token belongs to a segment if it covers any of its characters (a zero-width token: if it sits inside it).
    private static bool Covers(TokenSpan span, int start, int end) => span.Length > 0
        ? span.End > start && span.Start < end
        : span.Start >= start && span.Start < end;
}
