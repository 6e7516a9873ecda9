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

/// <summary>One progress event of one seeded run of an experiment.</summary>
[GenerateSerializer]
public sealed record ProgressEvent
{
    [Id(0)] public required string ExperimentId { get; init; }
    [Id(1)] public long Seed { get; init; }
    [Id(2)] public ProgressKind Kind { get; init; }
    [Id(3)] public long Step { get; init; }
    [Id(4)] public long TotalSteps { get; init; }
    [Id(5)] public double Loss { get; init; } = double.NaN;
    [Id(6)] public double LearningRate { get; init; }
    [Id(7)] public double Sigma { get; init; }
    [Id(8)] public double TokensPerSecond { get; init; }
    [Id(9)] public double EtaSeconds { get; init; }
    [Id(10)] public RunState State { get; init; }
    [Id(11)] public string? Message { get; init; }
    [Id(12)] public double EvalLoss { get; init; } = double.NaN;
    [Id(13)] public double EvalExactMatch { get; init; } = double.NaN;
    [Id(14)] public double EvalTokenAccuracy { get; init; } = double.NaN;
    [Id(15)] public DateTime TimestampUtc { get; init; } = DateTime.UtcNow;
    [Id(16)] public double StepSeconds { get; init; }
    [Id(17)] public double GradNorm { get; init; }
    [Id(18)] public long Tokens { get; init; }
    [Id(19)] public int Rank { get; init; }

    /// <summary>Gradient bytes this rank sent in the step's all-reduce (data-parallel runs).</summary>
    [Id(20)] public long ExchangeBytes { get; init; }

    /// <summary>Seconds this rank spent in the step's all-reduce.</summary>
    [Id(21)] public double ExchangeSeconds { get; init; }

    /// <summary>S2R2 at an evaluation: mean segment drift (nats), share of high-drift segments, and every segment's drift.</summary>
    [Id(22)] public double EvalSegmentDrift { get; init; } = double.NaN;
    [Id(23)] public double EvalHighDriftShare { get; init; } = double.NaN;
    [Id(24)] public double[] SegmentDrifts { get; init; } = [];

    /// <summary>S2R2 training terms of the step (NaN when off): drift penalty per example and Σ‖A‖‖B‖.</summary>
    [Id(25)] public double DriftPenalty { get; init; } = double.NaN;
    [Id(26)] public double NormPenalty { get; init; } = double.NaN;

    /// <summary>Examples this rank processed in the step.</summary>
    [Id(27)] public long Samples { get; init; }

    /// <summary>Seconds the checkpoint of a checkpoint message took to write.</summary>
    [Id(28)] public double CheckpointSeconds { get; init; }
}
