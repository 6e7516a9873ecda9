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
    private bool _attemptEnding;
    private IGrainTimer? _watchdog;
    private IGrainTimer? _queueKeeper;
    private IGrainTimer? _endKeeper;

    private string Key => this.GetPrimaryKeyString();
    private SeedRunGrainState S => state.State;
    private FlatLoraClusterOptions O => options.Value;
    private DeviceLease Lease => new(GrainFactory.GetGrain<IClusterInventoryGrain>(0), Key, logger);
    private AttemptShards Shards => new(GrainFactory, Key, logger);
    private SeedRunReports Reports => new(GrainFactory, this.GetStreamProvider(ProgressStreams.Provider), Key, logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Reactivated while "running" (its silo restarted): silence from the ranks will trigger a retry.
        if (S.State == RunState.Running)
        {
            _liveness.Start(S.Devices.Count, DateTime.UtcNow);
            StartWatchdog();
        }
        if (S.State == RunState.Queued)
            StartQueueKeeper();
        if (S.EndPending)
            StartEndKeeper();
        return Task.CompletedTask;
    }

    public async Task WakeAsync()
    {
        if (S.State == RunState.Queued)
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
        S.Plan = plan;
        S.State = RunState.Queued;
        S.QueuedUtc = DateTime.UtcNow;
        await PersistAsync();
        NotifyExperiment();
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    public async Task OnDevicesGrantedAsync(IReadOnlyList<DeviceInfo> devices)
    {
        if (S.Plan is null || S.State != RunState.Queued || S.CancelRequested)
        {
            if (S.State.IsFinal() || S.CancelRequested)
                await Lease.ReleaseAsync();   // ended while the grant was in flight
            return;
        }
        StopQueueKeeper();
        S.Attempt++;
        S.Devices = devices.ToList();
        // A fresh secret per attempt: ranks of an older attempt can no longer push gradients into this one.
        S.Secret = RandomNumberGenerator.GetBytes(32);
        S.State = RunState.Running;
        S.StartedUtc ??= DateTime.UtcNow;
        S.Error = null;
        await PersistAsync();
        _attemptEnding = false;
        _liveness.Start(devices.Count, DateTime.UtcNow);
        StartWatchdog();
        NotifyExperiment();
        LogAttempt(logger, Key, S.Attempt, string.Join(", ", devices.Select(d => d.ShardKey)));
        if (devices.Count < S.Plan.WorldSize)
            await Reports.PublishMessageAsync(S, $"running on {devices.Count} of {S.Plan.WorldSize} ranks (no replacement device free); the global batch, and so the math, is unchanged");
        if (await Shards.StartAsync(ShardJobs.For(Key, S), devices) is (int rank, string error, bool unrouted))
        {
            if (unrouted && S.UnroutedAttempts < MaxUnroutedAttempts)
                S.UnroutedAttempts++;   // the device was never reached: neither it nor the retry budget is to blame
            await EndAttemptAsync(retryable: true, error, unrouted ? [] : [devices[rank]]);
        }
    }

    public async Task OnShardProgressAsync(ShardProgress progress)
    {
        if (progress.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        _liveness.Heard(progress.Event.Rank, DateTime.UtcNow);
        if (progress.LastCheckpoint is not null && progress.LastCheckpoint != S.LastCheckpoint)
        {
            S.LastCheckpoint = progress.LastCheckpoint;
            await PersistAsync();
        }
        if (progress.Event.Rank != 0 || S.Plan is null)
            return;   // ranks agree on the math; rank 0 speaks for the run
        if (progress.Event.Kind == ProgressKind.Step)
        {
            S.Step = progress.Event.Step;
            S.TotalSteps = progress.Event.TotalSteps;
            _latest = progress.Event.Figures;
            NotifyExperiment();
        }
        await Reports.PublishAsync(S, progress.Event);
    }

    public Task OnShardHeartbeatAsync(int attempt, int rank)
    {
        if (attempt == S.Attempt && S.State == RunState.Running)
            _liveness.Heard(rank, DateTime.UtcNow);
        return Task.CompletedTask;
    }

    public async Task OnShardFinishedAsync(ShardOutcome outcome)
    {
        if (outcome.Attempt == S.Attempt && S.State == RunState.Queued && IsNewer(outcome.LastCheckpoint))
        {
            // Rank 0 of an attempt that was stopped checkpoints on its way out: the next attempt can start there.
            S.LastCheckpoint = outcome.LastCheckpoint;
            await PersistAsync();
        }
        if (outcome.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        if (outcome.LastCheckpoint is not null)
            S.LastCheckpoint = outcome.LastCheckpoint;
        if (outcome.Rank == 0 && outcome.Metrics is not null)
        {
            // One-way reports may arrive out of order: the outcome, not the last progress event, says where it ended.
            S.Metrics = outcome.Metrics;
            S.Step = S.TotalSteps = outcome.Metrics.Steps;
        }
        (Verdict verdict, string? error, DeviceInfo? lost) = OutcomeVerdict.Judge(outcome, S.CancelRequested, _liveness.FinishedCount, S.Devices);
        if (OutcomeVerdict.EndedAsAsked(outcome, S.CancelRequested))
            _liveness.Finished(outcome.Rank);
        switch (verdict)
        {
            case Verdict.Completed:
                await FinishAsync(RunState.Completed, null);
                break;
            case Verdict.Cancelled:
                await FinishAsync(CancelledState, S.Error);
                break;
            case Verdict.Retry or Verdict.Fail:
                await EndAttemptAsync(retryable: verdict == Verdict.Retry, error!, lost is null ? null : [lost]);
                break;
        }
    }

    public async Task OnDeviceLostAsync(DeviceInfo device, string reason)
    {
        if (S.State == RunState.Running && S.Devices.Any(d => d.ShardKey == device.ShardKey))
            await EndAttemptAsync(retryable: true, $"device {device.ShardKey} lost: {reason}");
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

    private RunState CancelledState => S.StopRequested ? RunState.Stopped : RunState.Cancelled;

    /// <summary>Ends the current attempt: cancelled if a cancel was asked for, else a new attempt while retries remain.</summary>
    /// <param name="lost">Devices that went silent: the inventory keeps them out of the next grant for a while.</param>
    private async Task EndAttemptAsync(bool retryable, string error, IReadOnlyList<DeviceInfo>? lost = null)
    {
        if (_attemptEnding || S.State != RunState.Running)
            return;
        _attemptEnding = true;
        StopWatchdog();
        LogAttemptFailed(logger, Key, S.Attempt, error);
        await Shards.CancelAsync(S.Devices);
        if (S.CancelRequested)
        {
            await FinishAsync(CancelledState, S.Error);   // a failure while stopping is part of the stop, not a reason to run again
            return;
        }
        if (!retryable || S.Plan is null || S.Attempt - S.UnroutedAttempts > S.Plan.MaxRetries)
        {
            await FinishAsync(RunState.Failed, retryable ? $"{error} (after {S.Attempt} attempt(s))" : error);
            return;
        }
        S.State = RunState.Queued;
        S.QueuedUtc = DateTime.UtcNow;
        S.Error = $"attempt {S.Attempt} failed: {error}; resuming from {S.LastCheckpoint ?? "the start"}";
        S.Devices = [];
        S.ReleasePending = true;
        await PersistAsync();
        NotifyExperiment();
        await Lease.ReportLostAsync(lost ?? [], O.LostDeviceQuarantine);
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    private async Task RequestDevicesAsync(CancellationToken cancellationToken)
    {
        if (S.State == RunState.Queued && S.Plan is not null && !S.CancelRequested && await Lease.RequestAsync(S))
            await PersistAsync();
    }

    private async Task FinishAsync(RunState final, string? error)
    {
        StopWatchdog();
        StopQueueKeeper();
        S.State = final;
        S.Error = error;
        S.FinishedUtc = DateTime.UtcNow;
        S.EndPending = true;
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
        if (await Lease.ReleaseAsync() && await Reports.ReportEndAsync(S))
        {
            StopEndKeeper();
            if (S.EndPending)
            {
                S.EndPending = false;
                await PersistAsync();
            }
            return;
        }
        StartEndKeeper();
    }

    private async Task CheckHeartbeatsAsync(CancellationToken cancellationToken)
    {
        if (S.State != RunState.Running)
            return;
        TimeSpan timeout = O.HeartbeatTimeout;
        IReadOnlyList<int> silent = _liveness.Silent(DateTime.UtcNow, timeout);
        if (silent.Count == 0)
            return;
        if (S.CancelRequested)
        {
            await FinishAsync(CancelledState, S.Error);
            return;
        }
        var suspects = silent.Where(r => r < S.Devices.Count).Select(r => S.Devices[r]).ToList();
        IReadOnlyList<DeviceInfo> lost = await new SilentRankProbe(GrainFactory, Key, logger).LostAsync(suspects, timeout);
        string device = silent[0] < S.Devices.Count ? S.Devices[silent[0]].ShardKey : "?";
        await EndAttemptAsync(retryable: true, $"rank {silent[0]} on {device} sent no heartbeat for {timeout.TotalSeconds:0.###} s", lost);
    }

    private async Task PersistAsync()
    {
        S.Version++;
        await state.WriteDurablyAsync(storage, $"seed run {Key}", logger);
    }

    private void StartQueueKeeper() => _queueKeeper ??= this.RegisterGrainTimer(RequestDevicesAsync, O.QueueRequestInterval, O.QueueRequestInterval);

    private void StartEndKeeper() => _endKeeper ??= this.RegisterGrainTimer(ct => DeliverEndAsync(ct), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

    private void StopEndKeeper()
    {
        _endKeeper?.Dispose();
        _endKeeper = null;
    }

    private void StopQueueKeeper()
    {
        _queueKeeper?.Dispose();
        _queueKeeper = null;
    }

    private void StartWatchdog() => _watchdog ??= this.RegisterGrainTimer(CheckHeartbeatsAsync, O.HeartbeatInterval, O.HeartbeatInterval);

    private void StopWatchdog()
    {
        _watchdog?.Dispose();
        _watchdog = null;
    }

    // Checkpoint folders are named step-NNNNNN under one root: ordinal order is step order.
    private bool IsNewer(string? checkpoint) =>
        checkpoint is not null && (S.LastCheckpoint is null || string.CompareOrdinal(checkpoint, S.LastCheckpoint) > 0);

    private void NotifyExperiment() => Reports.NotifyExperiment(S, _latest);

    public Task<SeedRunStatus> GetStatusAsync() => Task.FromResult(Reports.Status(S, _latest));

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: attempt {Attempt} on {Devices}")]
    private static partial void LogAttempt(ILogger logger, string key, int attempt, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string key, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: {State}")]
    private static partial void LogFinished(ILogger logger, string key, RunState state);
}
