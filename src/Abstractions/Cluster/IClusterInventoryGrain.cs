using Orleans.Concurrency;

namespace FlatLora.Abstractions.Cluster;

/// <summary>What the cluster has and who waits for it.</summary>
[GenerateSerializer]
public sealed record ClusterSnapshot(
    [property: Id(0)] IReadOnlyList<DeviceInfo> Devices,
    [property: Id(1)] IReadOnlyList<string> Queue,
    [property: Id(2)] IReadOnlyList<string> Silos);

/// <summary>
/// The cluster's devices and the FIFO queue of seed runs waiting for them (key 0). Silos register their devices on
/// start; runs ask for devices and are granted them, in order, as soon as enough are free.
/// </summary>
public interface IClusterInventoryGrain : IGrainWithIntegerKey
{
    /// <param name="endpoint">The silo's gradient-exchange address for data-parallel peers on other silos (null: none).</param>
    Task RegisterSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint);

    /// <summary>
    /// Queues a request for <paramref name="count"/> devices; the grant arrives as ISeedRunGrain.OnDevicesGrantedAsync. When
    /// the cluster has fewer healthy devices than asked for, and <paramref name="minimum"/> allows, it grants what exists
    /// (the run adjusts its per-rank batch so the math stays the same).
    /// </summary>
    Task RequestDevicesAsync(string runKey, int count, int minimum);

    /// <summary>A run lost this device (its rank went silent): keep it out of grants for a while unless its silo proves alive.</summary>
    Task ReportDeviceLostAsync(string shardKey, TimeSpan quarantine);

    /// <summary>Frees a run's devices, or drops its queued request.</summary>
    Task ReleaseAsync(string runKey);

    [ReadOnly]
    Task<ClusterSnapshot> GetSnapshotAsync();

    /// <summary>Marks devices of silos that left the membership as down and tells the runs holding them.</summary>
    Task CheckMembershipAsync(IReadOnlyList<string> activeSilos);
}
