using System.Runtime.InteropServices;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains.Cluster.Scheduling;
using FlatLora.Grains.Hosting;
using FlatLora.Grains.Persistence;
using FlatLora.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// The cluster's devices, the runs holding them and the runs waiting for them. Who gets devices, and whose are taken
/// back, is <see cref="SchedulingPolicy"/>'s decision (fair share by project, priorities, preemption); this grain keeps
/// the state, applies the decision and tells the runs. It decides on every change (a run joining the queue while no
/// device is free is not one) and once a second while runs wait (a wait may cross PreemptAfter with nothing else
/// happening). Grants and preemptions go out as one-way calls so no call chain can loop back into this grain.
/// </summary>
[OldestSiloPlacement]
public sealed partial class ClusterInventoryGrain(
    [PersistentState("inventory", StorageNames.Default)] IPersistentState<InventoryState> state,
    [PersistentState("inventory-queue", StorageNames.Default)] IPersistentState<InventoryQueueState> queueState,
    ClusterMeter meter,
    SchedulingConfig scheduling,
    StorageHealth storage,
    ILogger<ClusterInventoryGrain> logger) : Grain, IClusterInventoryGrain
{
    // What each silo last said about its storage; kept in memory only, every silo repeats it every few seconds.
    private readonly Dictionary<string, SiloHealthReport> _health = new(StringComparer.Ordinal);

    private static readonly TimeSpan QueueWriteEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DecideEvery = TimeSpan.FromSeconds(1);
    private readonly InventoryQueue _queue = new();

    private InventoryState S => state.State;

    /// <summary>The claims of the runs holding devices, in the lazily written record; <see cref="_claimsChanged"/> marks a change to write.</summary>
    private Dictionary<string, RunClaim> Claims => queueState.State.Claims;
    private bool _claimsChanged;

    private async Task PersistAsync() => await state.WriteDurablyAsync(storage, "inventory", logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _queue.Restore(queueState.State.Asks, run => S.Devices.Any(d => d.RunKey == run));
        this.RegisterGrainTimer(ct => WriteQueueAsync(ct), QueueWriteEvery, QueueWriteEvery);
        this.RegisterGrainTimer(DecideAsync, DecideEvery, DecideEvery);
        PublishMetrics();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        meter.ClearInventory();   // the next activation, maybe on another silo, exports it from there
        await WriteQueueAsync(cancellationToken, now: true);
    }

    /// <summary>
    /// Writes the queue and the claims if they changed, at most once a second, and less often as the queue grows: the
    /// write costs the queue's length (12 ms for 10,000 waiting runs on an idle core) and holds up the grant pass
    /// behind it, so a long queue is written once per thousand runs in seconds. What a lost write misses, the runs
    /// say again when they next ask.
    /// </summary>
    private async Task WriteQueueAsync(CancellationToken cancellationToken, bool now = false)
    {
        if (!_queue.Dirty && !_claimsChanged)
            return;
        TimeSpan every = TimeSpan.FromSeconds(Math.Max(QueueWriteEvery.TotalSeconds, _queue.Count / 1000.0));
        if (!now && DateTime.UtcNow - _queueWrittenUtc < every)
            return;
        if (_queue.Dirty)
            queueState.State.Asks = _queue.TakeSnapshot();
        _claimsChanged = false;
        _queueWrittenUtc = DateTime.UtcNow;
        await queueState.WriteDurablyAsync(storage, "inventory queue", logger);
    }

    private DateTime _queueWrittenUtc;

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

    public async Task RequestDevicesAsync(DeviceAsk ask)
    {
        if (_queue.Contains(ask.RunKey))
            return;   // already waiting: requests are idempotent
        var held = S.Devices.Where(d => d.RunKey == ask.RunKey && d.State == DeviceState.Busy).ToList();
        if (held.Count > 0)
        {
            // Served, but the run asks again: the one-way grant may have been lost with the silo it was sent to.
            await GrainFactory.GetGrain<ISeedRunGrain>(ask.RunKey).OnDevicesGrantedAsync(held);
            return;
        }
        _queue.Insert(ask with { Minimum = Math.Clamp(ask.Minimum, 1, Math.Max(1, ask.Count)) });
        // With no device free nothing can be granted: whether to preempt for the new run is the next decision pass's
        // question (within a second). Thousands of runs queueing at a busy cluster then cost no decision each.
        if (S.Devices.Exists(d => d.State == DeviceState.Free))
            await GrantAsync(devicesChanged: false);
    }

    public Task OnCheckpointAsync(string runKey)
    {
        // Written lazily with the claims: a lost hint only makes the victim choice less informed.
        if (Claims.TryGetValue(runKey, out RunClaim? claim))
        {
            Claims[runKey] = claim with { CheckpointUtc = DateTime.UtcNow };
            _claimsChanged = true;
        }
        return Task.CompletedTask;
    }

    private async Task DecideAsync(CancellationToken cancellationToken)
    {
        if (_queue.Count > 0)
            await GrantAsync(devicesChanged: false);
        // A preemption is one-way: one lost with a dying silo is repeated (the run ignores repeats) until the run lets go.
        DateTime now = DateTime.UtcNow;
        foreach ((string runKey, RunClaim claim) in Claims.Where(c => c.Value.PreemptingSinceUtc is DateTime since && now - since > PreemptRepeatAfter).ToList())
            await GrainFactory.GetGrain<ISeedRunGrain>(runKey).PreemptAsync(claim.PreemptedFor ?? "the scheduler needs its devices");
    }

    private static readonly TimeSpan PreemptRepeatAfter = TimeSpan.FromSeconds(15);

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
        bool freed = false;
        for (int i = 0; i < S.Devices.Count; i++)
        {
            if (S.Devices[i].RunKey == runKey)
            {
                S.Devices[i] = S.Devices[i] with { RunKey = null, Grant = 0, State = S.Devices[i].State == DeviceState.Down ? DeviceState.Down : DeviceState.Free };
                freed = true;
            }
        }
        bool dequeued = _queue.Remove(runKey);
        _claimsChanged |= Claims.Remove(runKey);
        // Usually each device's silo has freed it already (DeviceFreedAsync): the release then changes nothing, and
        // deciding and writing again for it would double the inventory's work per finished run.
        if (freed || dequeued)
            await GrantAsync();
    }

    public async Task DeviceFreedAsync(string shardKey, long grant)
    {
        if (GrantNumbers.Free(S.Devices, shardKey, grant))
            await GrantAsync();
    }

    public Task<ClusterSnapshot> GetSnapshotAsync()
    {
        // The same decision the next grant pass would make, without applying it: the queue in the scheduler's order.
        SchedulingDecision decision = SchedulingPolicy.Decide(Input(DateTime.UtcNow));
        return Task.FromResult(new ClusterSnapshot(
            S.Devices.ToList(), decision.Queue.Select(q => q.Ask.RunKey).ToList(), S.Devices.Select(d => d.Silo).Distinct().Order(StringComparer.Ordinal).ToList(),
            _health.Values.OrderBy(h => h.Silo, StringComparer.Ordinal).ToList())
        {
            Waiting = decision.Queue,
            Projects = decision.Projects,
            Running = Running().Values.OrderBy(c => c.Ask.RunKey, StringComparer.Ordinal).ToList(),
        });
    }

    /// <summary>The runs holding devices, each with as many devices as it holds now (a run whose claim was lost counts as default, normal, not preemptible).</summary>
    private Dictionary<string, RunClaim> Running()
    {
        // Plain loops: this runs on every grant pass, over every device.
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (DeviceInfo device in S.Devices)
        {
            if (device is { State: DeviceState.Busy, RunKey: { } run })
                CollectionsMarshal.GetValueRefOrAddDefault(held, run, out _)++;
        }
        var running = new Dictionary<string, RunClaim>(held.Count, StringComparer.Ordinal);
        foreach ((string run, int devices) in held)
        {
            RunClaim claim = Claims.TryGetValue(run, out RunClaim? c) ? c
                : new RunClaim { Ask = new DeviceAsk { RunKey = run, Preemptible = false }, GrantedUtc = DateTime.UtcNow };
            running[run] = claim.Devices == devices ? claim : claim with { Devices = devices };
        }
        return running;
    }

    private SchedulingInput Input(DateTime now) => new(S.Devices, Running(), _queue.Asks, scheduling.Current, now) { WaitingByUser = _queue.ByUser, WaitingDemand = _queue.Demand };

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: silo {Silo} registered {Count} device(s)")]
    private static partial void LogRegistered(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: silo {Silo} offered its {Count} device(s) again (the inventory's stored state was lost)")]
    private static partial void LogRestored(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: granted {Devices} to {RunKey}")]
    private static partial void LogGranted(ILogger logger, string runKey, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: device {Device} is down (was running {RunKey})")]
    private static partial void LogDeviceDown(ILogger logger, string device, string? runKey);
}
