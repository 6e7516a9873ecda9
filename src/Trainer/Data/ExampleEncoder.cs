namespace FlatLora.Trainer.Data;

/// <summary>Turns examples into ids with the loss on response tokens (and the closing eos) only.</summary>
public static class ExampleEncoder
{
    /// <summary>Target id for positions without loss (PyTorch's ignore_index).</summary>
    public const int Ignore = -100;

    public static EncodedExample Encode(TrainingExample example, ITokenizer tokenizer, int maxSeqLen)
    {
        var tokens = new List<int>();
        var isTarget = new List<bool>();
        if (tokenizer.BosId is int bos)
        {
            tokens.Add(bos);
            isTarget.Add(false);
        }
        foreach (TextSegment segment in example.Segments)
        {
            IReadOnlyList<int> ids = tokenizer.Encode(segment.Text);
            tokens.AddRange(ids);
            isTarget.AddRange(Enumerable.Repeat(segment.IsTarget, ids.Count));
        }
        // The model learns to stop: eos after the last response counts as a target.
        tokens.Add(tokenizer.EosId);
        isTarget.Add(example.Segments.Count > 0 && example.Segments[^1].IsTarget);

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
}
