using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>Everything the scheduler decides from: the devices, who holds them, who waits, the projects, and the time.</summary>
internal sealed record SchedulingInput(
    IReadOnlyList<DeviceInfo> Devices,
    IReadOnlyDictionary<string, RunClaim> Running,
    IReadOnlyCollection<DeviceAsk> Waiting,
    SchedulingSettings Settings,
    DateTime Now)
{
    /// <summary>The same waiting runs kept per (project, user) in <see cref="AskQueues.WithinUser"/> order (null: group <see cref="Waiting"/>).</summary>
    public IReadOnlyCollection<IEnumerable<DeviceAsk>>? WaitingByUser { get; init; }

    /// <summary>
    /// Per project, the waiting runs and the devices they ask for, kept by the caller as runs come and go (null: count
    /// <see cref="Waiting"/>). Devices are the asks' counts, not what a shrinking run would settle for: the fair shares
    /// differ only where an ask exceeds the whole cluster, and then the cluster's size caps them anyway.
    /// </summary>
    public IReadOnlyDictionary<string, (int Runs, int Devices)>? WaitingDemand { get; init; }
}

internal sealed record Grant(DeviceAsk Ask, IReadOnlyList<DeviceInfo> Devices);

/// <summary>Why a run's devices are taken back (a metric label: no user or run in it).</summary>
internal enum PreemptionReason
{
    /// <summary>Its project is over its fair share and a run within its own project's share waits.</summary>
    FairShare,

    /// <summary>A run of a higher priority class waits.</summary>
    Priority,

    /// <summary>Its project holds more than its (new) max.</summary>
    Quota,
}

internal sealed record Preemption(string RunKey, string Project, PreemptionReason Reason, string Why);

/// <summary>What to grant now, what to take back, and the queue as users see it, with each project's devices.</summary>
internal sealed record SchedulingDecision(
    IReadOnlyList<Grant> Grants,
    IReadOnlyList<Preemption> Preemptions,
    IReadOnlyList<QueuedRun> Queue,
    IReadOnlyList<ProjectUsage> Projects);
