using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Persisted state of the cluster inventory: its devices and the claims of the runs holding them, written with every
/// change. The queue has a record of its own (<see cref="InventoryQueueState"/>, written lazily); id 1 held it here once.
/// </summary>
[GenerateSerializer]
public sealed class InventoryState
{
    [Id(0)] public List<DeviceInfo> Devices { get; set; } = [];

    /// <summary>The last grant's number (<see cref="DeviceInfo.Lease"/>).</summary>
    [Id(1)] public long LastLease { get; set; }

    /// <summary>What each run holding devices was granted on (its project and priority), and whether it is being preempted.</summary>
    [Id(2)] public Dictionary<string, RunClaim> Claims { get; set; } = new(StringComparer.Ordinal);
}
