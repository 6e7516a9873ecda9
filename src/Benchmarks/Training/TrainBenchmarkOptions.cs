using FlatLora.Spec;

namespace FlatLora.Benchmarks.Training;

/// <summary>What `flatlora bench train` measures: one model shape, batch and method, random weights and tokens.</summary>
public sealed record TrainBenchmarkOptions
{
    public string Shape { get; init; } = "tiny";
    public int Batch { get; init; } = 8;
    public int Sequence { get; init; } = 64;
    public int Rank { get; init; } = 16;
    public double? Alpha { get; init; }
    public IReadOnlyList<string> Targets { get; init; } = LoraSpec.DefaultTargets;
    public string Method { get; init; } = MethodSpec.Flat;
    public double Rho { get; init; } = 0.05;
    public int Steps { get; init; } = 10;
    public int Warmup { get; init; } = 2;
    public bool Checkpointing { get; init; }
    public string Device { get; init; } = "cpu";
    public string Dtype { get; init; } = "float32";
    public long Seed { get; init; }
}
