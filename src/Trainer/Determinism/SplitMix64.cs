namespace FlatLora.Trainer.Determinism;

/// <summary>A tiny sequential generator (Steele et al.'s SplitMix64) for building synthetic data reproducibly.</summary>
public struct SplitMix64(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, bound).</summary>
    public int NextInt(int bound) => (int)(Next() % (ulong)bound);

    /// <summary>Uniform in [0, 1), from the top 53 bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
