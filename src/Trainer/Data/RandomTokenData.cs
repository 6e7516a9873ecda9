using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Data;

/// <summary>Random token sequences with loss on every position, for throughput benchmarks (no dataset needed).</summary>
public static class RandomTokenData
{
    public static TrainingData Create(int examples, int sequenceLength, int vocabSize, long seed)
    {
        var random = new SplitMix64(seed);
        var train = new List<EncodedExample>(examples);
        for (int i = 0; i < examples; i++)
        {
            var tokens = new int[sequenceLength + 1];
            for (int t = 0; t < tokens.Length; t++)
                tokens[t] = random.NextInt(vocabSize);
            train.Add(new EncodedExample(tokens[..^1], tokens[1..], $"random:{i}", false));
        }
        return new TrainingData(train, []);
    }
}
