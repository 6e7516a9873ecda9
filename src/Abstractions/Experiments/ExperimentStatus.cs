using FlatLora.Spec;

namespace FlatLora.Abstractions.Experiments;

/// <summary>An experiment and its seeded runs.</summary>
[GenerateSerializer]
public sealed record ExperimentStatus
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public RunState State { get; init; }
    [Id(3)] public DateTime CreatedUtc { get; init; }
    [Id(4)] public DateTime? StartedUtc { get; init; }
    [Id(5)] public DateTime? FinishedUtc { get; init; }
    [Id(6)] public string? Error { get; init; }
    [Id(7)] public IReadOnlyList<SeedRunStatus> Seeds { get; init; } = [];
    [Id(8)] public string Method { get; init; } = "";
    [Id(9)] public double Rho { get; init; }
    [Id(10)] public string? SweepId { get; init; }
    [Id(11)] public string? Configuration { get; init; }
    [Id(12)] public int WorldSize { get; init; } = 1;

    /// <summary>Who submitted it, and the project it is charged to.</summary>
    [Id(13)] public RunOwner Owner { get; init; } = RunOwner.Local;

    /// <summary>Steps done over steps planned, over all seeds.</summary>
    public double Progress => Seeds.Count == 0 || Seeds.Sum(s => s.TotalSteps) == 0
        ? (State.IsFinal() ? 1 : 0)
        : (double)Seeds.Sum(s => s.State.IsFinal() ? s.TotalSteps : s.Step) / Seeds.Sum(s => s.TotalSteps);
}

/// <summary>Mean, sample standard deviation and count of one metric over seeds.</summary>
[GenerateSerializer]
public sealed record MetricSummary([property: Id(0)] string Metric, [property: Id(1)] double Mean, [property: Id(2)] double Std, [property: Id(3)] int Count);

/// <summary>Per-seed outcomes plus their aggregate.</summary>
[GenerateSerializer]
public sealed record ExperimentResults
{
    [Id(0)] public required ExperimentStatus Status { get; init; }
    [Id(1)] public IReadOnlyList<MetricSummary> Summary { get; init; } = [];
}

/// <summary>What the submit call brings: the spec, and the sweep the experiment belongs to, if any.</summary>
[GenerateSerializer]
public sealed record ExperimentRequest
{
    [Id(0)] public required TrainSpec Spec { get; init; }
    [Id(1)] public string? SweepId { get; init; }
    [Id(2)] public int ConfigurationIndex { get; init; } = -1;
    [Id(3)] public string? ConfigurationLabel { get; init; }

    /// <summary>Who submits it (the API's identified caller; a sweep's owner for its experiments).</summary>
    [Id(4)] public RunOwner Owner { get; init; } = RunOwner.Local;
}
