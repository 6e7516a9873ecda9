using FlatLora.Spec.Reporting;

namespace FlatLora.Abstractions.Experiments;

/// <summary>What a watcher sees: a training step, an evaluation, a state change, or a message.</summary>
[GenerateSerializer]
public enum ProgressKind
{
    Step = 0,
    Eval = 1,
    State = 2,
    Message = 3,
}

/// <summary>One progress event of one seeded run of an experiment. <see cref="Step"/> counts steps done.</summary>
[GenerateSerializer]
public sealed record ProgressEvent
{
    [Id(0)] public required string ExperimentId { get; init; }
    [Id(1)] public long Seed { get; init; }
    [Id(2)] public ProgressKind Kind { get; init; }
    [Id(3)] public long Step { get; init; }
    [Id(4)] public long TotalSteps { get; init; }
    [Id(10)] public RunState State { get; init; }
    [Id(11)] public string? Message { get; init; }
    [Id(12)] public double EvalLoss { get; init; } = double.NaN;
    [Id(13)] public double EvalExactMatch { get; init; } = double.NaN;
    [Id(14)] public double EvalTokenAccuracy { get; init; } = double.NaN;
    [Id(15)] public DateTime TimestampUtc { get; init; } = DateTime.UtcNow;
    [Id(19)] public int Rank { get; init; }

    /// <summary>S2R2 at an evaluation: mean segment drift (nats), share of high-drift segments, and every segment's drift.</summary>
    [Id(22)] public double EvalSegmentDrift { get; init; } = double.NaN;
    [Id(23)] public double EvalHighDriftShare { get; init; } = double.NaN;
    [Id(24)] public double[] SegmentDrifts { get; init; } = [];

    /// <summary>Expected sharpness of the final weights by metric name (sharpness@0.05), at the final evaluation when evaluation.flatness is on.</summary>
    [Id(30)] public Dictionary<string, double> EvalSharpness { get; init; } = [];

    /// <summary>Seconds the checkpoint of a checkpoint message took to write.</summary>
    [Id(28)] public double CheckpointSeconds { get; init; }

    /// <summary>A step event's figures; for a state event, the seed's latest step. Ids 5–9, 16–18, 20, 21 and 25–27 held them once.</summary>
    [Id(29)] public StepFigures? Figures { get; init; }
}
