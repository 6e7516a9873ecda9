using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Persisted state of the cluster inventory: its devices, written with every change. The queue and the claims of the
/// runs holding devices have a record of their own (<see cref="InventoryQueueState"/>, written lazily); id 1 held the
/// queue here once, and id 2 the claims.
/// </summary>
[GenerateSerializer]
public sealed class InventoryState
{
    [Id(0)] public List<DeviceInfo> Devices { get; set; } = [];

    /// <summary>The last grant's number (<see cref="DeviceInfo.Grant"/>).</summary>
    [Id(1)] public long LastGrant { get; set; }
}
