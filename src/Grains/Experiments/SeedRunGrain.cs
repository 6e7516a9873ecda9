using System.Security.Cryptography;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Hosting;
using FlatLora.Grains.Persistence;
using FlatLora.Spec.Reporting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// One seeded run (key "{experiment}/{seed}"): leases one device per rank, starts a shard per rank and follows them by
/// progress and heartbeats. An attempt that fails for a retryable reason (a lost device, a silent rank) releases its
/// devices and queues again; the next attempt resumes from the newest checkpoint. A cancel is persisted first and
/// every path checks it. Reports from an older attempt are ignored; every status sent up carries a version.
/// </summary>
public sealed partial class SeedRunGrain(
    [PersistentState("seedrun", StorageNames.Default)] IPersistentState<SeedRunGrainState> state,
    IOptions<FlatLoraClusterOptions> options,
    StorageHealth storage,
    ILogger<SeedRunGrain> logger) : Grain, ISeedRunGrain
{
    private readonly RankLiveness _liveness = new();
    /// <summary>Routing failures forgiven per run; past this a cluster that cannot reach a shard counts like any failure.</summary>
    private const int MaxUnroutedAttempts = 5;

    private StepFigures? _latest;
    private ProgressEvent? _lastEval;
    private bool _attemptEnding;
    private readonly GrainTimerSlot _watchdog = new(), _queueKeeper = new(), _endKeeper = new();

    private string Key => this.GetPrimaryKeyString();
    private readonly ActiveState<SeedRunGrainState> _state = new(state);
    private SeedRunGrainState S => _state.State;
    private FlatLoraClusterOptions O => options.Value;
    // Made once per activation, on first use (they hold no state of their own).
    private InventoryClient? _inventory;
    private AttemptShards? _shards;
    private SeedRunReports? _reports;
    private InventoryClient Inventory => _inventory ??= new(GrainFactory.GetGrain<IClusterInventoryGrain>(0), Key, logger);
    private AttemptShards Shards => _shards ??= new(GrainFactory, Key, logger);
    private SeedRunReports Reports => _reports ??= new(GrainFactory, this.GetStreamProvider(ProgressStreams.Provider), Key, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Reactivated while "running" (its silo restarted): silence from the ranks will trigger a retry.
        if (S.State == RunState.Running)
        {
            _liveness.Start(S.Devices.Count, DateTime.UtcNow);
            StartWatchdog();
        }
        if (S.State.IsWaiting())
            StartQueueKeeper();
        if (S.EndPending)
            StartEndKeeper();
        return Task.CompletedTask;
    }

    public async Task WakeAsync()
    {
        if (S.State.IsWaiting())
            await RequestDevicesAsync(CancellationToken.None);
        else if (S.State.IsFinal())
            await DeliverEndAsync(CancellationToken.None, always: true);
    }

    public async Task StartAsync(SeedRunPlan plan)
    {
        if (S.Plan is not null || S.CancelRequested)
        {
            // A repeated start is the experiment asking again; a start after a cancel only records what was cancelled.
            if (S.Plan is null)
            {
                S.Plan = plan;
                await PersistAsync();
            }
            NotifyExperiment();
            return;
        }
        SeedRunTransitions.Queue(S, plan, DateTime.UtcNow);
        await PersistAsync();
        NotifyExperiment();
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    public async Task OnDevicesGrantedAsync(IReadOnlyList<DeviceInfo> devices)
    {
        if (S.Plan is null || !S.State.IsWaiting() || S.CancelRequested)
        {
            if (S.State.IsFinal() || S.CancelRequested)
                await Inventory.ReleaseAsync();   // ended while the grant was in flight
            return;
        }
        _queueKeeper.Stop();
        SeedRunTransitions.BeginAttempt(S, devices, DateTime.UtcNow);
        await PersistAsync();
        _attemptEnding = false;
        _liveness.Start(devices.Count, DateTime.UtcNow);
        StartWatchdog();
        NotifyExperiment();
        LogAttempt(logger, Key, S.Attempt, string.Join(", ", devices.Select(d => d.ShardKey)));
        if (devices.Count < S.Plan.WorldSize)
            await Reports.PublishMessageAsync(S, $"running on {devices.Count} of {S.Plan.WorldSize} ranks (no replacement device free); the global batch, and so the math, is unchanged");
        // Ring keys differ per attempt, so ranks of an older attempt cannot push gradients into this one. They derive from
        // the cluster key on every silo; a cluster without one gets a fresh random secret, held in memory only.
        byte[] secret = O.ClusterKey is null && S.Plan.WorldSize > 1 ? RandomNumberGenerator.GetBytes(32) : [];
        if (await Shards.StartAsync(ShardJobs.For(Key, S, secret), devices) is (int rank, string error, bool unrouted))
        {
            if (unrouted && S.UnroutedAttempts < MaxUnroutedAttempts)
                S.UnroutedAttempts++;   // the device was never reached: neither it nor the retry budget is to blame
            await EndAttemptAsync(retryable: true, error, unrouted ? [] : [devices[rank]]);
        }
    }

    public async Task CancelAsync(string reason, bool stopped = false)
    {
        if (S.State.IsFinal() || S.CancelRequested)
            return;
        S.CancelRequested = true;
        S.StopRequested = stopped;
        S.Error = reason;
        if (S.State != RunState.Running)
        {
            await FinishAsync(CancelledState, reason);
            return;
        }
        await PersistAsync();
        // Running ranks stop at their next micro-batch and report Cancelled; the watchdog covers ranks that never answer.
        await Shards.CancelAsync(S.Devices);
    }

    public async Task PreemptAsync(string reason)
    {
        if (S.State != RunState.Running || S.CancelRequested || S.PreemptRequested || _attemptEnding)
            return;
        S.PreemptRequested = true;
        await PersistAsync();
        LogPreempting(logger, Key, reason);
        await Reports.PublishMessageAsync(S, $"preempted: {reason}; checkpointing at the next optimizer step, then waiting at its place in the queue");
        // The ranks stop at their next micro-batch boundary; the trainer saves the last complete step on its way out.
        await Shards.CancelAsync(S.Devices);
    }

    /// <summary>Every rank checkpointed and stopped for the scheduler: give the devices back and wait at the old place.</summary>
    private async Task RequeuePreemptedAsync()
    {
        _attemptEnding = true;
        _watchdog.Stop();
        SeedRunTransitions.Preempted(S, DateTime.UtcNow);
        await PersistAsync();
        NotifyExperiment();
        await Reports.PublishMessageAsync(S, $"preempted {S.Preemptions} time(s); waiting to resume from {S.LastCheckpoint ?? "the start"}");
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    private RunState CancelledState => SeedRunTransitions.CancelledState(S);

    /// <summary>Ends the current attempt: cancelled if a cancel was asked for, else a new attempt while retries remain.</summary>
    /// <param name="lost">Devices that went silent: the inventory keeps them out of the next grant for a while.</param>
    private async Task EndAttemptAsync(bool retryable, string error, IReadOnlyList<DeviceInfo>? lost = null)
    {
        if (_attemptEnding || S.State != RunState.Running)
            return;
        _attemptEnding = true;
        _watchdog.Stop();
        LogAttemptFailed(logger, Key, S.Attempt, error);
        await Shards.CancelAsync(S.Devices);
        AttemptEnd end = SeedRunTransitions.Decide(S, retryable, error);
        if (!end.Requeue)
        {
            await FinishAsync(end.Final, end.Error);
            return;
        }
        SeedRunTransitions.Requeue(S, error, DateTime.UtcNow);
        await PersistAsync();
        NotifyExperiment();
        await Inventory.ReportLostAsync(lost ?? [], O.LostDeviceQuarantine);
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    private async Task RequestDevicesAsync(CancellationToken cancellationToken)
    {
        if (S.State.IsWaiting() && S.Plan is not null && !S.CancelRequested && await Inventory.RequestAsync(S))
            await PersistAsync();
    }

    private async Task FinishAsync(RunState final, string? error)
    {
        _watchdog.Stop();
        _queueKeeper.Stop();
        SeedRunTransitions.Finish(S, final, error, DateTime.UtcNow, SeedRunTransitions.LoggedSoFar(S, _latest, _lastEval));
        await PersistAsync();
        LogFinished(logger, Key, final);
        await DeliverEndAsync(CancellationToken.None);
    }

    /// <summary>
    /// Gives the devices back and tells the experiment, both awaited; what does not get through is repeated until it
    /// does (a silo dying at that moment must not leave devices held or an experiment waiting).
    /// </summary>
    private async Task DeliverEndAsync(CancellationToken cancellationToken, bool always = false)
    {
        if (!S.EndPending && !always)
            return;
        if (await Inventory.ReleaseAsync() && await Reports.ReportEndAsync(S))
        {
            _endKeeper.Stop();
            if (S.EndPending)
            {
                S.EndPending = false;
                await PersistAsync();
            }
            return;
        }
        StartEndKeeper();
    }

    private async Task PersistAsync()
    {
        S.Version++;
        await _state.WriteAsync(storage, $"seed run {Key}", logger);
    }

    private void StartQueueKeeper() => _queueKeeper.Start(() => this.RegisterGrainTimer(RequestDevicesAsync, O.QueueRequestInterval, O.QueueRequestInterval));

    private void StartEndKeeper() => _endKeeper.Start(() => this.RegisterGrainTimer(ct => DeliverEndAsync(ct), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)));

    private void NotifyExperiment() => Reports.NotifyExperiment(S, _latest);

    public Task<SeedRunStatus> GetStatusAsync() => Task.FromResult(Reports.Status(S, _latest));

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: attempt {Attempt} on {Devices}")]
    private static partial void LogAttempt(ILogger logger, string key, int attempt, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string key, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: preempting: {Reason}")]
    private static partial void LogPreempting(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: {State}")]
    private static partial void LogFinished(ILogger logger, string key, RunState state);
}
