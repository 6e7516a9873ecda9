using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;

namespace FlatLora.Abstractions.Cluster;

/// <summary>One rank of one attempt of a seeded run, as handed to a shard.</summary>
[GenerateSerializer]
public sealed record ShardJob
{
    [Id(0)] public required string RunKey { get; init; }
    [Id(1)] public required string ExperimentId { get; init; }
    [Id(2)] public long Seed { get; init; }
    [Id(3)] public int Rank { get; init; }
    [Id(4)] public int WorldSize { get; init; } = 1;
    [Id(5)] public int Attempt { get; init; } = 1;
    [Id(6)] public required TrainSpec Spec { get; init; }

    /// <summary>Shard keys of every rank, in rank order (data-parallel peers).</summary>
    [Id(7)] public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>Gradient-exchange address of every rank's silo, in rank order.</summary>
    [Id(8)] public IReadOnlyList<string?> PeerEndpoints { get; init; } = [];

    /// <summary>This attempt's secret: gradient frames without it are refused.</summary>
    [Id(9)] public byte[] Secret { get; init; } = [];

    /// <summary>
    /// Data-parallel runs: the checkpoint every rank resumes from (null: the start), chosen by the seed run so all
    /// ranks agree. A single rank resumes from the newest checkpoint it finds instead.
    /// </summary>
    [Id(10)] public string? ResumeCheckpoint { get; init; }

    /// <summary>The inventory's grant of this rank's device (<see cref="DeviceInfo.Grant"/>), handed back when the job ends.</summary>
    [Id(11)] public long Grant { get; init; }
}

/// <summary>A progress event from one rank, tagged with the attempt it belongs to (stale attempts are ignored).</summary>
[GenerateSerializer]
public sealed record ShardProgress([property: Id(0)] int Attempt, [property: Id(1)] ProgressEvent Event, [property: Id(2)] string? LastCheckpoint);

[GenerateSerializer]
public enum ShardResult
{
    Completed = 0,

    /// <summary>Failed for a reason that retrying cannot fix (bad data, NaN loss).</summary>
    Failed = 1,

    /// <summary>Failed for a reason a retry may fix (a lost peer, an I/O error).</summary>
    FailedRetryable = 2,
    Cancelled = 3,
}

/// <summary>How one rank's attempt ended.</summary>
[GenerateSerializer]
public sealed record ShardOutcome
{
    [Id(0)] public int Attempt { get; init; }
    [Id(1)] public int Rank { get; init; }
    [Id(2)] public ShardResult Result { get; init; }
    [Id(3)] public string? Error { get; init; }
    /// <summary>Rank 0's figures of a completed run (id 4 held the earlier, Orleans-typed form).</summary>
    [Id(9)] public RunMetrics? Metrics { get; init; }
    [Id(5)] public string? LastCheckpoint { get; init; }
    [Id(6)] public required string Device { get; init; }

    /// <summary>A peer rank this rank could not reach at all: its device is presumed lost.</summary>
    [Id(7)] public int? UnreachableRank { get; init; }

    /// <summary>The run diverged: its loss or gradient norm became NaN or infinite.</summary>
    [Id(8)] public bool NonFiniteLoss { get; init; }
}

/// <summary>What a shard is doing.</summary>
[GenerateSerializer]
public sealed record ShardStatus(
    [property: Id(0)] string Silo, [property: Id(1)] string Device, [property: Id(2)] string? RunKey,
    [property: Id(3)] int Rank, [property: Id(4)] DateTime? LastHeartbeatUtc, [property: Id(5)] string HostSilo);
