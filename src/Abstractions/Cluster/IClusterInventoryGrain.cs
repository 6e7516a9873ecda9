using FlatLora.Abstractions.Scheduling;
using Orleans.Concurrency;

namespace FlatLora.Abstractions.Cluster;

/// <summary>What the cluster has, who waits for it, and what each silo last said about its grain storage.</summary>
[GenerateSerializer]
public sealed record ClusterSnapshot(
    [property: Id(0)] IReadOnlyList<DeviceInfo> Devices,
    [property: Id(1)] IReadOnlyList<string> Queue,
    [property: Id(2)] IReadOnlyList<string> Silos,
    [property: Id(3)] IReadOnlyList<SiloHealthReport> Health)
{
    /// <summary>Every waiting run in the scheduler's order, with why it waits.</summary>
    [Id(4)] public IReadOnlyList<QueuedRun> Waiting { get; init; } = [];

    /// <summary>Each project's devices against its fair share, guarantee and max.</summary>
    [Id(5)] public IReadOnlyList<ProjectUsage> Projects { get; init; } = [];

    /// <summary>The runs holding devices, with their project and priority.</summary>
    [Id(6)] public IReadOnlyList<RunClaim> Running { get; init; } = [];
}

/// <summary>What the inventory holds of one silo's devices: whether it knows them, and the run each busy one is granted to.</summary>
[GenerateSerializer]
public sealed record SiloDevices([property: Id(0)] bool Known, [property: Id(1)] IReadOnlyDictionary<string, string> BusyWith);

/// <summary>
/// A silo's view of its grains' storage: "healthy", "degraded" (state was lost and restored) or "unhealthy" (writes
/// fail); and what it warns its operators about (a security setting that weakens the cluster).
/// </summary>
[GenerateSerializer]
public sealed record SiloHealthReport(
    [property: Id(0)] string Silo, [property: Id(1)] string Status, [property: Id(2)] string Detail, [property: Id(3)] DateTime ReportedUtc,
    [property: Id(4)] IReadOnlyList<string>? Warnings = null);

/// <summary>
/// The cluster's devices and the seed runs waiting for them (key 0). Silos register their devices on start; runs ask
/// for devices and are granted them in the scheduler's fair-share order (see SchedulingPolicy), which may also take
/// devices back from running runs (ISeedRunGrain.PreemptAsync).
/// </summary>
public interface IClusterInventoryGrain : IGrainWithIntegerKey
{
    /// <param name="endpoint">The silo's gradient-exchange address for data-parallel peers on other silos (null: none).</param>
    Task RegisterSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint);

    /// <summary>
    /// Queues a request for devices; the grant arrives as ISeedRunGrain.OnDevicesGrantedAsync. When the cluster has fewer
    /// healthy devices than asked for, and the ask's minimum allows, it grants what exists (the run adjusts its per-rank
    /// batch so the math stays the same). Requests are idempotent; queued runs ask again every so often, so after the
    /// inventory moves the queue comes back with every run at its place (DeviceAsk.QueuedUtc).
    /// </summary>
    Task RequestDevicesAsync(DeviceAsk ask);

    /// <summary>A run holding devices saved a checkpoint (preempting it now would redo the least work).</summary>
    [OneWay]
    Task OnCheckpointAsync(string runKey);

    /// <summary>A run lost this device (its rank went silent): keep it out of grants for a while unless its silo proves alive.</summary>
    Task ReportDeviceLostAsync(string shardKey, TimeSpan quarantine);

    /// <summary>Frees a run's devices, or drops its queued request.</summary>
    Task ReleaseAsync(string runKey);

    /// <summary>
    /// A device's job ended: the device is free if it still holds that grant. Sent by the device's silo as the job ends,
    /// so a device is granted again without waiting on its seed run (which may be moving off a dead silo); the seed
    /// run's <see cref="ReleaseAsync"/> follows and remains what guarantees the release.
    /// </summary>
    [OneWay]
    Task DeviceFreedAsync(string shardKey, long grant);

    [ReadOnly]
    Task<ClusterSnapshot> GetSnapshotAsync();

    /// <summary>
    /// A silo whose devices the inventory does not know (the inventory's stored state was lost) offers them again with
    /// the run each one is busy with. Unlike <see cref="RegisterSiloAsync"/> this is not a restart: runs go on.
    /// </summary>
    Task RestoreSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint, IReadOnlyList<string?> busyWith);

    /// <summary>
    /// Marks devices of silos that left the membership as down and tells the runs holding them; records the reporting
    /// silo's storage health. Answers what the inventory holds of the reporter's devices.
    /// </summary>
    Task<SiloDevices> CheckMembershipAsync(IReadOnlyList<string> activeSilos, SiloHealthReport reporter);
}
