using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Robustness.Perturbations;

/// <summary>The generator perturbations draw from: SplitMix64, so the same seed perturbs identically on every machine and .NET version.</summary>
public struct PerturbationRandom(long seed)
{
    private SplitMix64 _stream = new(seed);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (_stream.Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, bound).</summary>
    public int Next(int bound) => bound <= 1 ? 0 : _stream.NextInt(bound);

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
