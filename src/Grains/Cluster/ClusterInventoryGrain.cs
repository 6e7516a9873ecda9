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
}
