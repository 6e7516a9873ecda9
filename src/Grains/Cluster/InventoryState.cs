using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Cluster;

/// <summary>A seed run waiting for devices.</summary>
[GenerateSerializer]
public sealed record DeviceRequest([property: Id(0)] string RunKey, [property: Id(1)] int Count, [property: Id(2)] DateTime QueuedUtc,
    [property: Id(3)] int Minimum = 0);

/// <summary>
/// Persisted state of the cluster inventory: its devices, written with every change. The queue has a record of its own
/// (<see cref="InventoryQueueState"/>, written lazily); id 1 held it here once.
/// </summary>
[GenerateSerializer]
public sealed class InventoryState
{
    [Id(0)] public List<DeviceInfo> Devices { get; set; } = [];

    /// <summary>The last grant's number (<see cref="DeviceInfo.Lease"/>).</summary>
    [Id(1)] public long LastLease { get; set; }
}
