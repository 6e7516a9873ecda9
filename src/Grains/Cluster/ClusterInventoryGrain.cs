using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Persistence;
using FlatLora.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// The cluster's devices and a strict FIFO queue of runs waiting for them. Strict FIFO means a run needing several
/// devices is never starved by smaller ones behind it. Grants go out as one-way calls so no call chain can loop back
/// into this grain.
/// </summary>
[OldestSiloPlacement]
public sealed partial class ClusterInventoryGrain(
    [PersistentState("inventory", StorageNames.Default)] IPersistentState<InventoryState> state,
    [PersistentState("inventory-queue", StorageNames.Default)] IPersistentState<InventoryQueueState> queueState,
    ClusterMeter meter,
    StorageHealth storage,
    ILogger<ClusterInventoryGrain> logger) : Grain, IClusterInventoryGrain
{
    // What each silo last said about its storage; kept in memory only, every silo repeats it every few seconds.
    private readonly Dictionary<string, SiloHealthReport> _health = new(StringComparer.Ordinal);

    private static readonly TimeSpan QueueWriteEvery = TimeSpan.FromSeconds(1);
    private readonly InventoryQueue _queue = new();

    private InventoryState S => state.State;

    private async Task PersistAsync() => await state.WriteDurablyAsync(storage, "inventory", logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _queue.Restore(queueState.State.Requests, run => S.Devices.Any(d => d.RunKey == run));
        this.RegisterGrainTimer(WriteQueueAsync, QueueWriteEvery, QueueWriteEvery);
        PublishMetrics();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        meter.ClearInventory();   // the next activation, maybe on another silo, exports it from there
        await WriteQueueAsync(cancellationToken);
    }

    private async Task WriteQueueAsync(CancellationToken cancellationToken)
    {
        if (!_queue.Dirty)
            return;
        queueState.State.Requests = _queue.TakeSnapshot();
        await queueState.WriteDurablyAsync(storage, "inventory queue", logger);
    }

    private void PublishMetrics() => meter.PublishInventory(S.Devices, _queue.Count);

    public async Task RegisterSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint)
    {
        // A silo that registers again restarted: whatever its devices were running is gone.
        foreach (DeviceInfo lost in S.Devices.Where(d => d.Silo == silo && d.State == DeviceState.Busy && d.RunKey is not null).ToList())
            await GrainFactory.GetGrain<ISeedRunGrain>(lost.RunKey!).OnDeviceLostAsync(lost, $"silo {silo} restarted");
        S.Devices.RemoveAll(d => d.Silo == silo);
        S.Devices.AddRange(devices.Select(d => new DeviceInfo { Silo = silo, Device = d, State = DeviceState.Free, Endpoint = endpoint }));
        S.Devices.Sort((a, b) => string.CompareOrdinal(a.ShardKey, b.ShardKey));
        LogRegistered(logger, silo, devices.Count);
        await GrantAsync();
    }

    public async Task RestoreSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint, IReadOnlyList<string?> busyWith)
    {
        bool added = false;
        for (int i = 0; i < devices.Count; i++)
        {
            if (S.Devices.Any(d => d.Silo == silo && d.Device == devices[i]))
                continue;
            string? run = i < busyWith.Count ? busyWith[i] : null;
            S.Devices.Add(new DeviceInfo { Silo = silo, Device = devices[i], State = run is null ? DeviceState.Free : DeviceState.Busy, RunKey = run, Endpoint = endpoint });
            added = true;
        }
        if (!added)
            return;
        S.Devices.Sort((a, b) => string.CompareOrdinal(a.ShardKey, b.ShardKey));
        LogRestored(logger, silo, devices.Count);
        await GrantAsync();
    }

    public async Task RequestDevicesAsync(string runKey, int count, int minimum, DateTime queuedUtc)
    {
        if (_queue.Contains(runKey))
            return;   // already waiting: requests are idempotent
        var held = S.Devices.Where(d => d.RunKey == runKey && d.State == DeviceState.Busy).ToList();
        if (held.Count > 0)
        {
            // Served, but the run asks again: the one-way grant may have been lost with the silo it was sent to.
            await GrainFactory.GetGrain<ISeedRunGrain>(runKey).OnDevicesGrantedAsync(held);
            return;
        }
        _queue.Insert(new DeviceRequest(runKey, count, queuedUtc, Math.Clamp(minimum, 1, count)));
        await GrantAsync(devicesChanged: false);
    }

    public async Task ReportDeviceLostAsync(string shardKey, TimeSpan quarantine)
    {
        int index = S.Devices.FindIndex(d => d.ShardKey == shardKey);
        if (index < 0 || S.Devices[index].State == DeviceState.Down)
            return;
        LogDeviceDown(logger, shardKey, S.Devices[index].RunKey);
        S.Devices[index] = S.Devices[index] with { State = DeviceState.Down, RunKey = null, SuspectUntilUtc = DateTime.UtcNow + quarantine };
        PublishMetrics();
        await PersistAsync();
    }

    public async Task ReleaseAsync(string runKey)
    {
        for (int i = 0; i < S.Devices.Count; i++)
        {
            if (S.Devices[i].RunKey == runKey)
                S.Devices[i] = S.Devices[i] with { RunKey = null, Lease = 0, State = S.Devices[i].State == DeviceState.Down ? DeviceState.Down : DeviceState.Free };
        }
        _queue.Remove(runKey);
        await GrantAsync();
    }

    public async Task DeviceFreedAsync(string shardKey, long lease)
    {
        if (DeviceLeases.Free(S.Devices, shardKey, lease))
            await GrantAsync();
    }

    public Task<ClusterSnapshot> GetSnapshotAsync() => Task.FromResult(new ClusterSnapshot(
        S.Devices.ToList(), _queue.RunKeys.ToList(), S.Devices.Select(d => d.Silo).Distinct().Order(StringComparer.Ordinal).ToList(),
        _health.Values.OrderBy(h => h.Silo, StringComparer.Ordinal).ToList()));

    public async Task<SiloDevices> CheckMembershipAsync(IReadOnlyList<string> activeSilos, SiloHealthReport reporter)
    {
        _health[reporter.Silo] = reporter;
        var active = activeSilos.ToHashSet(StringComparer.Ordinal);
        foreach (string gone in _health.Keys.Where(s => !active.Contains(s)).ToList())
            _health.Remove(gone);
        bool changed = false;
        for (int i = 0; i < S.Devices.Count; i++)
        {
            DeviceInfo device = S.Devices[i];
            // A device quarantined after a lost rank comes back once the quarantine is over and its silo is still alive.
            if (device.State == DeviceState.Down && device.SuspectUntilUtc is DateTime until && until < DateTime.UtcNow && active.Contains(device.Silo))
            {
                S.Devices[i] = device with { State = DeviceState.Free, SuspectUntilUtc = null };
                changed = true;
                continue;
            }
            if (active.Contains(device.Silo) || device.State == DeviceState.Down)
                continue;
            LogDeviceDown(logger, device.ShardKey, device.RunKey);
            if (device.RunKey is not null)
                await GrainFactory.GetGrain<ISeedRunGrain>(device.RunKey).OnDeviceLostAsync(device, $"silo {device.Silo} left the cluster");
            S.Devices[i] = device with { State = DeviceState.Down, RunKey = null };
            changed = true;
        }
        if (changed)
            await GrantAsync();
        var mine = S.Devices.Where(d => d.Silo == reporter.Silo).ToList();
        return new SiloDevices(mine.Count > 0, mine.Where(d => d is { State: DeviceState.Busy, RunKey: not null })
            .ToDictionary(d => d.Device, d => d.RunKey!, StringComparer.Ordinal));
    }

    /// <summary>
    /// Serves the head of the queue while enough devices are free, preferring devices of one silo. The new state is
    /// written before any grant is sent: a grant whose write failed never reaches a run, so a device is never handed
    /// out twice after the inventory comes back from storage. With nothing granted and no device changed by the caller
    /// (a run joined the queue), nothing is written: thousands of runs queueing at once must not cost a write each.
    /// </summary>
    private async Task GrantAsync(bool devicesChanged = true)
    {
        var grants = new List<(string RunKey, List<DeviceInfo> Devices)>();
        while (_queue.Count > 0)
        {
            DeviceRequest head = _queue.Head;
            var free = S.Devices.Where(d => d.State == DeviceState.Free).ToList();
            // Ask for what the cluster can ever give: a run that may shrink takes what exists once it is all free.
            int healthy = S.Devices.Count(d => d.State != DeviceState.Down);
            int wanted = healthy < head.Count && head.Minimum > 0 ? Math.Max(head.Minimum, healthy) : head.Count;
            if (free.Count < wanted)
                break;
            List<DeviceInfo> pick = free.GroupBy(d => d.Silo).Where(g => g.Count() >= wanted).Select(g => g.Take(wanted).ToList()).FirstOrDefault()
                ?? free.Take(wanted).ToList();
            long lease = S.LastLease = DeviceLeases.Next(S.LastLease, DateTime.UtcNow);
            var granted = pick.Select(d => d with { State = DeviceState.Busy, RunKey = head.RunKey, Lease = lease }).ToList();
            foreach (DeviceInfo device in granted)
                S.Devices[S.Devices.FindIndex(d => d.ShardKey == device.ShardKey)] = device;
            _queue.RemoveHead();
            grants.Add((head.RunKey, granted));
        }
        PublishMetrics();
        if (grants.Count == 0 && !devicesChanged)
            return;
        await PersistAsync();
        foreach ((string runKey, List<DeviceInfo> devices) in grants)
        {
            if (logger.IsEnabled(LogLevel.Information))
                LogGranted(logger, runKey, string.Join(", ", devices.Select(d => d.ShardKey)));
            await GrainFactory.GetGrain<ISeedRunGrain>(runKey).OnDevicesGrantedAsync(devices);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: silo {Silo} registered {Count} device(s)")]
    private static partial void LogRegistered(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: silo {Silo} offered its {Count} device(s) again (the inventory's stored state was lost)")]
    private static partial void LogRestored(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: granted {Devices} to {RunKey}")]
    private static partial void LogGranted(ILogger logger, string runKey, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: device {Device} is down (was running {RunKey})")]
    private static partial void LogDeviceDown(ILogger logger, string device, string? runKey);
}
