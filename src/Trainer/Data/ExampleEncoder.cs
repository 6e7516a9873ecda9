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
        (List<int> tokens, List<bool> isTarget) = Tokens(example.Segments, tokenizer, closeWithEos: true);
        bool truncated = tokens.Count > maxSeqLen + 1;
        int length = Math.Min(tokens.Count, maxSeqLen + 1);
        var input = new int[length - 1];
        var targets = new int[length - 1];
        for (int t = 0; t < length - 1; t++)
        {
            input[t] = tokens[t];
            targets[t] = isTarget[t + 1] ? tokens[t + 1] : Ignore;
        }
        return new EncodedExample(input, targets, example.Source, truncated);
    }

    /// <summary>Token ids of the segments (bos first where the model uses one) and whether each is a target.</summary>
    public static (List<int> Tokens, List<bool> IsTarget) Tokens(IReadOnlyList<TextSegment> segments, ITokenizer tokenizer, bool closeWithEos)
    {
        var tokens = new List<int>();
        var isTarget = new List<bool>();
        // Chat templates bring their own begin-of-text token.
        if (tokenizer.BosId is int bos && !(segments.Count > 0 && segments[0].SpecialTokenId is not null))
        {
            tokens.Add(bos);
            isTarget.Add(false);
        }
        for (int i = 0; i < segments.Count;)
        {
            if (segments[i].SpecialTokenId is int special)
            {
                tokens.Add(special);
                isTarget.Add(segments[i].IsTarget);
                i++;
                continue;
            }
            var text = new StringBuilder();
            var ranges = new List<(int Start, int End, bool Target)>();
            for (; i < segments.Count && segments[i].SpecialTokenId is null; i++)
            {
                ranges.Add((text.Length, text.Length + segments[i].Text.Length, segments[i].IsTarget));
                text.Append(segments[i].Text);
            }
            foreach (TokenSpan span in tokenizer.EncodeWithOffsets(text.ToString()))
            {
                tokens.Add(span.Id);
                isTarget.Add(ranges.Any(r => r.Target && Covers(span, r.Start, r.End)));
            }
        }
        // The model learns to stop: eos after the last response counts as a target (unless the template closed it).
        bool closedByTemplate = segments.Count > 0 && segments[^1].SpecialTokenId is int last && tokenizer.StopIds.Contains(last);
        if (closeWithEos && !closedByTemplate)
        {
            tokens.Add(tokenizer.EosId);
            isTarget.Add(segments.Count > 0 && segments[^1].IsTarget);
        }
        return (tokens, isTarget);
    }

    // A token belongs to a segment if it covers any of its characters (a zero-width token: if it sits inside it).
    private static bool Covers(TokenSpan span, int start, int end) => span.Length > 0
        ? span.End > start && span.Start < end
        : span.Start >= start && span.Start < end;
}
