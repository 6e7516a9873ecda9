using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Abstractions.Sweeps;

/// <summary>A sweep with its base spec resolved (the silo cannot read the client's files).</summary>
[GenerateSerializer]
public sealed record SweepRequest([property: Id(0)] SweepSpec Sweep, [property: Id(1)] TrainSpec Base, [property: Id(2)] RunOwner? Owner = null);

/// <summary>One configuration of a sweep and its experiment.</summary>
[GenerateSerializer]
public sealed record SweepConfigurationStatus
{
    [Id(0)] public int Index { get; init; }
    [Id(1)] public required string Label { get; init; }
    [Id(2)] public string? ExperimentId { get; init; }
    [Id(3)] public RunState State { get; init; }
    [Id(4)] public IReadOnlyList<KeyValuePair<string, string>> Overrides { get; init; } = [];
}

[GenerateSerializer]
public sealed record SweepStatus
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public RunState State { get; init; }
    [Id(3)] public IReadOnlyList<SweepConfigurationStatus> Configurations { get; init; } = [];
    [Id(4)] public int EarlyStopped { get; init; }
    [Id(5)] public DateTime CreatedUtc { get; init; }

    /// <summary>Who submitted it, and the project it is charged to.</summary>
    [Id(6)] public RunOwner Owner { get; init; } = RunOwner.Local;
}

/// <summary>One row of the results table: a configuration's metrics, mean ± std over its seeds.</summary>
[GenerateSerializer]
public sealed record ConfigurationResult
{
    [Id(0)] public int Index { get; init; }
    [Id(1)] public required string Label { get; init; }
    [Id(2)] public string? ExperimentId { get; init; }
    [Id(3)] public IReadOnlyList<MetricSummary> Metrics { get; init; } = [];
    [Id(4)] public int Seeds { get; init; }
    [Id(5)] public int Stopped { get; init; }
    [Id(6)] public IReadOnlyList<string> AdapterDirectories { get; init; } = [];

    /// <summary>Times the scheduler preempted its seeds (each resumed from its checkpoint; not counted as stopped).</summary>
    [Id(7)] public int Preemptions { get; init; }
}

/// <summary>Welch's t-test of one metric between the two arms of the comparison (B − A).</summary>
[GenerateSerializer]
public sealed record Comparison
{
    [Id(0)] public required string Metric { get; init; }
    [Id(1)] public required string LabelA { get; init; }
    [Id(2)] public required string LabelB { get; init; }
    [Id(3)] public double MeanA { get; init; }
    [Id(4)] public double MeanB { get; init; }
    [Id(5)] public double T { get; init; }
    [Id(6)] public double DegreesOfFreedom { get; init; }
    [Id(7)] public double P { get; init; }
}

[GenerateSerializer]
public sealed record SweepResults
{
    [Id(0)] public required SweepStatus Status { get; init; }
    [Id(1)] public IReadOnlyList<ConfigurationResult> Rows { get; init; } = [];
    [Id(2)] public IReadOnlyList<Comparison> Comparisons { get; init; } = [];
}
