namespace FlatLora.Abstractions.Experiments;

/// <summary>Where one seeded run stands.</summary>
[GenerateSerializer]
public sealed record SeedRunStatus
{
    [Id(0)] public long Seed { get; init; }
    [Id(1)] public RunState State { get; init; }
    [Id(2)] public long Step { get; init; }
    [Id(3)] public long TotalSteps { get; init; }
    [Id(4)] public double Loss { get; init; } = double.NaN;
    [Id(5)] public double TokensPerSecond { get; init; }
    [Id(6)] public double EtaSeconds { get; init; }
    [Id(7)] public int Attempt { get; init; }
    [Id(8)] public IReadOnlyList<string> Devices { get; init; } = [];
    [Id(9)] public string? LastCheckpoint { get; init; }
    [Id(10)] public string? Error { get; init; }
    [Id(11)] public RunMetrics? Metrics { get; init; }
    [Id(12)] public string? OutputDirectory { get; init; }
}
