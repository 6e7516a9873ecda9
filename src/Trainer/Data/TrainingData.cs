using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Data;

/// <summary>Encoded training and evaluation examples plus what encoding had to cut.</summary>
public sealed record TrainingData(IReadOnlyList<EncodedExample> Train, IReadOnlyList<EncodedExample> Eval)
{
    public int TruncatedCount => Train.Count(e => e.Truncated) + Eval.Count(e => e.Truncated);

    /// <summary>Encodes examples; without an eval set, a seeded share of the training examples is held out.</summary>
    public static TrainingData Encode(
        IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample>? eval, double evalFraction,
        ITokenizer tokenizer, int maxSeqLen, long seed, CancellationToken cancellationToken = default)
    {
        if (eval is null && evalFraction > 0 && train.Count >= 2)
        {
            int held = Math.Clamp((int)Math.Round(train.Count * evalFraction), 1, train.Count - 1);
            int[] order = new DataOrder(train.Count, train.Count, seed ^ 0x45564C).Permutation(0);
            eval = order.Take(held).Order().Select(i => train[i]).ToList();
            train = order.Skip(held).Order().Select(i => train[i]).ToList();
        }
        if (train.Count > 0 && train.All(e => e.Response.Trim().Length == 0))
            throw new DataFormatException(SourceFile(train[0].Source), SourceLine(train[0].Source),
                $"every one of the {train.Count} training examples has an empty response: there is nothing to learn (is the response field, or data.columns, right?)");
        EncodedExample Encode(TrainingExample example)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ExampleEncoder.Encode(example, tokenizer, maxSeqLen);
        }
        var encodedTrain = train.Select(Encode).ToList();
        var encodedEval = (eval ?? []).Select(Encode).ToList();
        EncodedExample? empty = encodedTrain.FirstOrDefault(e => e.TargetCount == 0);
        if (empty is not null)
            throw new DataFormatException(SourceFile(empty.Source), SourceLine(empty.Source),
                $"no response tokens survive data.max_seq_len={maxSeqLen} (prompt too long?)");
        return new TrainingData(encodedTrain, encodedEval);
    }

    private static string SourceFile(string source) =>
        source.LastIndexOf(':') is var colon and > 0 ? source[..colon] : source;

    private static int SourceLine(string source) =>
        int.TryParse(source.AsSpan(source.LastIndexOf(':') + 1), out int line) ? line : 1;
}
