using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Cluster;

/// <summary>A seed run waiting for devices.</summary>
[GenerateSerializer]
public sealed record DeviceRequest([property: Id(0)] string RunKey, [property: Id(1)] int Count, [property: Id(2)] DateTime QueuedUtc,
    [property: Id(3)] int Minimum = 0);

/// <summary>Persisted state of the cluster inventory.</summary>
[GenerateSerializer]
public sealed class InventoryState
{
    [Id(0)] public List<DeviceInfo> Devices { get; set; } = [];
    [Id(1)] public List<DeviceRequest> Queue { get; set; } = [];
}
