using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Experiments;

/// <summary>Persisted state of a seeded run. Never renumber an [Id]: stored state depends on it.</summary>
[GenerateSerializer]
public sealed class SeedRunGrainState
{
    [Id(0)] public SeedRunPlan? Plan { get; set; }
    [Id(1)] public RunState State { get; set; } = RunState.Pending;
    [Id(2)] public int Attempt { get; set; }
    [Id(3)] public List<DeviceInfo> Devices { get; set; } = [];
    [Id(4)] public string? LastCheckpoint { get; set; }
    [Id(6)] public string? Error { get; set; }
    [Id(7)] public bool CancelRequested { get; set; }
    [Id(8)] public bool StopRequested { get; set; }
    [Id(9)] public long Step { get; set; }
    [Id(10)] public long TotalSteps { get; set; }
    [Id(12)] public DateTime? StartedUtc { get; set; }
    [Id(13)] public DateTime? FinishedUtc { get; set; }

    // Id 14 held the attempt's gradient secret once: nothing secret is stored now (ring keys derive from the cluster
    // key on every silo; without one, the secret lives only in the seed run's memory and its start messages).

    /// <summary>The last attempt's devices may still be held by this run in the inventory.</summary>
    [Id(15)] public bool ReleasePending { get; set; }

    /// <summary>The completed run's figures (id 5 held the earlier, Orleans-typed form; id 11 the latest loss).</summary>
    [Id(16)] public RunMetrics? Metrics { get; set; }

    /// <summary>Grows with every write: stamped on each status the experiment gets, which keeps the newest.</summary>
    [Id(17)] public long Version { get; set; }

    /// <summary>When the run last entered the queue: its place in the inventory's FIFO queue, which is rebuilt from it.</summary>
    [Id(18)] public DateTime? QueuedUtc { get; set; }

    /// <summary>The run ended but its experiment has not yet acknowledged the end, or the inventory the release of its devices.</summary>
    [Id(19)] public bool EndPending { get; set; }

    /// <summary>
    /// Attempts that never started because the cluster could not route to a shard (a silo that just died still owns
    /// part of the grain directory until membership removes it): retried without counting against max_retries.
    /// </summary>
    [Id(20)] public int UnroutedAttempts { get; set; }

    /// <summary>The scheduler asked for the devices back: the running attempt is checkpointing and stopping.</summary>
    [Id(21)] public bool PreemptRequested { get; set; }

    /// <summary>How often the scheduler took its devices back.</summary>
    [Id(22)] public int Preemptions { get; set; }

    /// <summary>When it began waiting this time (its place in line, <see cref="QueuedUtc"/>, survives preemption).</summary>
    [Id(23)] public DateTime? WaitingSinceUtc { get; set; }
}
