using FlatLora.Spec.Reporting;

namespace FlatLora.Abstractions.Experiments;

/// <summary>Where one seeded run stands.</summary>
[GenerateSerializer]
public sealed record SeedRunStatus
{
    [Id(0)] public long Seed { get; init; }
    [Id(1)] public RunState State { get; init; }
    [Id(2)] public long Step { get; init; }
    [Id(3)] public long TotalSteps { get; init; }
    /// <summary>The attempt number: every start try, including those that never reached a shard.</summary>
    [Id(7)] public int Attempt { get; init; }

    /// <summary>Start tries that never reached a shard (a dead silo still owned part of the grain directory).</summary>
    [Id(16)] public int UnroutedStarts { get; init; }

    /// <summary>Attempts that reached their shards and trained.</summary>
    public int Attempts => Math.Max(0, Attempt - UnroutedStarts);
    [Id(8)] public IReadOnlyList<string> Devices { get; init; } = [];
    [Id(9)] public string? LastCheckpoint { get; init; }
    [Id(10)] public string? Error { get; init; }
    [Id(12)] public string? OutputDirectory { get; init; }

    /// <summary>Rank 0's latest step (ids 4–6 held its loss, tokens/s and ETA once); null before the first.</summary>
    [Id(13)] public StepFigures? Latest { get; init; }

    /// <summary>The completed run's figures (id 11 held the earlier, Orleans-typed form).</summary>
    [Id(14)] public RunMetrics? Metrics { get; init; }

    /// <summary>
    /// Grows with every persisted change of the seed run. One-way statuses can overtake each other; the experiment keeps
    /// the highest version (and, within one version, the furthest step).
    /// </summary>
    [Id(15)] public long Version { get; init; }

    /// <summary>How often the scheduler took its devices back (each time it resumed from the checkpoint it saved then).</summary>
    [Id(17)] public int Preemptions { get; init; }

    /// <summary>Tokens per second of the whole run: every rank processes as many as rank 0.</summary>
    public double TokensPerSecond => (Latest?.TokensPerSecond ?? 0) * Math.Max(1, Devices.Count);
}
