using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>Everything the scheduler decides from: the devices, who holds them, who waits, the projects, and the time.</summary>
internal sealed record SchedulingInput(
    IReadOnlyList<DeviceInfo> Devices,
    IReadOnlyDictionary<string, RunClaim> Running,
    IReadOnlyList<DeviceAsk> Waiting,
    SchedulingSettings Settings,
    DateTime Now);

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
