using System.Security.Cryptography;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Hosting;
using FlatLora.Spec.Reporting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// One seeded run (key "{experiment}/{seed}"): asks the inventory for one device per rank, starts a shard per rank,
/// and follows them by progress and heartbeats. An attempt that fails for a retryable reason (a lost device, a silent
/// rank) releases its devices and queues again; the next attempt resumes from the run's newest checkpoint.
/// Reports from an older attempt are ignored.
/// </summary>
public sealed partial class SeedRunGrain(
    [PersistentState("seedrun", StorageNames.Default)] IPersistentState<SeedRunGrainState> state,
    IOptions<FlatLoraClusterOptions> options,
    ILogger<SeedRunGrain> logger) : Grain, ISeedRunGrain
{
    private static readonly TimeSpan ShardProbeTimeout = TimeSpan.FromSeconds(10);
    private readonly Dictionary<int, DateTime> _heartbeats = [];
    private readonly HashSet<int> _finishedRanks = [];
    private StepFigures? _latest;
    private bool _attemptEnding;
    private IGrainTimer? _watchdog;
    private IGrainTimer? _queueKeeper;

    private string Key => this.GetPrimaryKeyString();
    private SeedRunGrainState S => state.State;
    private IClusterInventoryGrain Inventory => GrainFactory.GetGrain<IClusterInventoryGrain>(0);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Reactivated while "running" (e.g. after its silo restarted): silence from the ranks will trigger a retry.
        if (S.State == RunState.Running)
        {
            foreach (int rank in Enumerable.Range(0, S.Devices.Count))
                _heartbeats[rank] = DateTime.UtcNow;
            StartWatchdog();
        }
        if (S.State == RunState.Queued)
            StartQueueKeeper();
        return Task.CompletedTask;
    }

    public async Task StartAsync(SeedRunPlan plan)
    {
        if (S.Plan is not null)
            return;   // already started: submission retries are harmless
        S.Plan = plan;
        S.State = RunState.Queued;
        await state.WriteStateAsync();
        NotifyExperiment();
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    public async Task OnDevicesGrantedAsync(IReadOnlyList<DeviceInfo> devices)
    {
        if (S.Plan is null || S.State != RunState.Queued)
        {
            if (S.State.IsFinal())
                await Inventory.ReleaseAsync(Key);   // cancelled while the grant was in flight
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
        await state.WriteStateAsync();
        _attemptEnding = false;
        _finishedRanks.Clear();
        _heartbeats.Clear();
        foreach (int rank in Enumerable.Range(0, devices.Count))
            _heartbeats[rank] = DateTime.UtcNow;
        StartWatchdog();
        NotifyExperiment();
        LogAttempt(logger, Key, S.Attempt, string.Join(", ", devices.Select(d => d.ShardKey)));

        var peers = devices.Select(d => d.ShardKey).ToList();
        var endpoints = devices.Select(d => d.Endpoint).ToList();
        if (devices.Count < S.Plan.WorldSize)
            NotifyMessage($"running on {devices.Count} of {S.Plan.WorldSize} ranks (no replacement device free); the global batch, and so the math, is unchanged");
        for (int rank = 0; rank < devices.Count; rank++)
        {
            var job = new ShardJob
            {
                RunKey = Key,
                ExperimentId = S.Plan.ExperimentId,
                Seed = S.Plan.Seed,
                Rank = rank,
                WorldSize = devices.Count,
                Attempt = S.Attempt,
                Spec = S.Plan.Spec,
                Peers = peers,
                PeerEndpoints = endpoints,
                Secret = S.Secret,
                ResumeCheckpoint = S.LastCheckpoint,
            };
            try
            {
                await GrainFactory.GetGrain<IShardGrain>(devices[rank].ShardKey).StartAsync(job);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                await EndAttemptAsync(retryable: true, $"could not start rank {rank} on {devices[rank].ShardKey}: {e.Message}", [devices[rank]]);
                return;
            }
        }
    }

    public async Task OnShardProgressAsync(ShardProgress progress)
    {
        if (progress.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        _heartbeats[progress.Event.Rank] = DateTime.UtcNow;
        if (progress.LastCheckpoint is not null && progress.LastCheckpoint != S.LastCheckpoint)
        {
            S.LastCheckpoint = progress.LastCheckpoint;
            await state.WriteStateAsync();
        }
        if (progress.Event.Rank != 0)
            return;   // ranks agree on the math; rank 0 speaks for the run
        if (progress.Event.Kind == ProgressKind.Step)
        {
            S.Step = progress.Event.Step;
            S.TotalSteps = progress.Event.TotalSteps;
            _latest = progress.Event.Figures;
        }
        if (S.Plan is not null)
            _ = GrainFactory.GetGrain<IExperimentGrain>(S.Plan.ExperimentId).OnSeedProgressAsync(progress.Event);
    }

    public Task OnShardHeartbeatAsync(int attempt, int rank)
    {
        if (attempt == S.Attempt && S.State == RunState.Running)
            _heartbeats[rank] = DateTime.UtcNow;
        return Task.CompletedTask;
    }

    public async Task OnShardFinishedAsync(ShardOutcome outcome)
    {
        if (outcome.Attempt == S.Attempt && S.State == RunState.Queued && IsNewer(outcome.LastCheckpoint))
        {
            // Rank 0 of an attempt that was stopped checkpoints on its way out: the next attempt can start there.
            S.LastCheckpoint = outcome.LastCheckpoint;
            await state.WriteStateAsync();
        }
        if (outcome.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        if (outcome.LastCheckpoint is not null)
            S.LastCheckpoint = outcome.LastCheckpoint;
        switch (outcome.Result)
        {
            case ShardResult.Completed:
                _finishedRanks.Add(outcome.Rank);
                if (outcome.Rank == 0 && outcome.Metrics is not null)
                {
                    // One-way reports may arrive out of order: the outcome, not the last progress event, says where it ended.
                    S.Metrics = outcome.Metrics;
                    S.Step = S.TotalSteps = outcome.Metrics.Steps;
                }
                if (_finishedRanks.Count == S.Devices.Count)
                    await FinishAsync(RunState.Completed, null);
                break;
            case ShardResult.Cancelled when S.CancelRequested:
                _finishedRanks.Add(outcome.Rank);
                if (_finishedRanks.Count == S.Devices.Count)
                    await FinishAsync(S.StopRequested ? RunState.Stopped : RunState.Cancelled, S.Error);
                break;
            case ShardResult.Cancelled:
                await EndAttemptAsync(retryable: true, $"rank {outcome.Rank} on {outcome.Device} stopped unexpectedly");
                break;
            case ShardResult.Failed:
                await EndAttemptAsync(retryable: false, $"rank {outcome.Rank} on {outcome.Device}: {outcome.Error}");
                break;
            case ShardResult.FailedRetryable:
                await EndAttemptAsync(retryable: true, $"rank {outcome.Rank} on {outcome.Device}: {outcome.Error}",
                    outcome.UnreachableRank is int peer && peer < S.Devices.Count ? [S.Devices[peer]] : null);
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
        await state.WriteStateAsync();
        if (S.State != RunState.Running)
        {
            await FinishAsync(stopped ? RunState.Stopped : RunState.Cancelled, reason);
            return;
        }
        // Running ranks stop at their next micro-batch and report Cancelled; the watchdog covers ranks that never answer.
        foreach (DeviceInfo device in S.Devices)
            await TryCancelShardAsync(device);
    }

    public Task<SeedRunStatus> GetStatusAsync() => Task.FromResult(Status());

    /// <summary>Ends the current attempt: a retryable failure queues a new attempt while retries remain.</summary>
    /// <param name="lost">Devices that went silent: the inventory keeps them out of the next grant for a while.</param>
    private async Task EndAttemptAsync(bool retryable, string error, IReadOnlyList<DeviceInfo>? lost = null)
    {
        if (_attemptEnding || S.State != RunState.Running)
            return;
        _attemptEnding = true;
        StopWatchdog();
        LogAttemptFailed(logger, Key, S.Attempt, error);
        foreach (DeviceInfo device in S.Devices)
            await TryCancelShardAsync(device);
        if (!retryable || S.Plan is null || S.Attempt > S.Plan.MaxRetries)
        {
            await FinishAsync(RunState.Failed, retryable ? $"{error} (after {S.Attempt} attempt(s))" : error);
            return;
        }
        S.State = RunState.Queued;
        S.Error = $"attempt {S.Attempt} failed: {error}; resuming from {S.LastCheckpoint ?? "the start"}";
        S.Devices = [];
        S.ReleasePending = true;
        await state.WriteStateAsync();
        NotifyExperiment();
        try
        {
            foreach (DeviceInfo device in lost ?? [])
                await Inventory.ReportDeviceLostAsync(device.ShardKey, options.Value.LostDeviceQuarantine);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogInventoryUnreachable(logger, Key, e.Message);   // only a hint for the next grant
        }
        StartQueueKeeper();
        await RequestDevicesAsync(CancellationToken.None);
    }

    /// <summary>
    /// Frees the last attempt's devices (once) and queues for new ones. The inventory may be unreachable for a while
    /// (its silo just died); the queue keeper calls this again until a grant arrives, and requests are idempotent.
    /// </summary>
    private async Task RequestDevicesAsync(CancellationToken cancellationToken)
    {
        if (S.State != RunState.Queued || S.Plan is null)
            return;
        try
        {
            if (S.ReleasePending)
            {
                await Inventory.ReleaseAsync(Key);
                S.ReleasePending = false;
                await state.WriteStateAsync(cancellationToken);
            }
            await Inventory.RequestDevicesAsync(Key, S.Plan.WorldSize, S.Plan.MinWorldSize);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogInventoryUnreachable(logger, Key, e.Message);
        }
    }

    private void StartQueueKeeper()
    {
        TimeSpan every = options.Value.MembershipCheckInterval * 2;
        _queueKeeper ??= this.RegisterGrainTimer(RequestDevicesAsync, every, every);
    }

    private void StopQueueKeeper()
    {
        _queueKeeper?.Dispose();
        _queueKeeper = null;
    }

    // Checkpoint folders are named step-NNNNNN under one root: ordinal order is step order.
    private bool IsNewer(string? checkpoint) =>
        checkpoint is not null && (S.LastCheckpoint is null || string.CompareOrdinal(checkpoint, S.LastCheckpoint) > 0);

    private async Task FinishAsync(RunState final, string? error)
    {
        StopWatchdog();
        StopQueueKeeper();
        S.State = final;
        S.Error = error;
        S.FinishedUtc = DateTime.UtcNow;
        await state.WriteStateAsync();
        await Inventory.ReleaseAsync(Key);
        NotifyExperiment();
        LogFinished(logger, Key, final);
    }

    private async Task TryCancelShardAsync(DeviceInfo device)
    {
        try
        {
            await GrainFactory.GetGrain<IShardGrain>(device.ShardKey).CancelAsync(Key);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogCancelFailed(logger, Key, device.ShardKey, e.Message);   // its silo may be gone: nothing left to stop
        }
    }

    private void StartWatchdog()
    {
        _watchdog ??= this.RegisterGrainTimer(CheckHeartbeatsAsync, options.Value.HeartbeatInterval, options.Value.HeartbeatInterval);
    }

    private void StopWatchdog()
    {
        _watchdog?.Dispose();
        _watchdog = null;
    }

    private async Task CheckHeartbeatsAsync(CancellationToken cancellationToken)
    {
        if (S.State != RunState.Running)
            return;
        TimeSpan timeout = options.Value.HeartbeatTimeout;
        var silent = _heartbeats.Where(h => DateTime.UtcNow - h.Value > timeout).Select(h => h.Key).ToList();
        if (silent.Count == 0)
            return;
        if (S.CancelRequested)
        {
            await FinishAsync(S.StopRequested ? RunState.Stopped : RunState.Cancelled, S.Error);
            return;
        }
        int rank = silent[0];
        string device = rank < S.Devices.Count ? S.Devices[rank].ShardKey : "?";
        // Probed together: a dead silo costs one probe timeout, not one per rank it hosted.
        var suspects = silent.Where(r => r < S.Devices.Count).Select(r => S.Devices[r]).ToList();
        bool[] verdicts = await Task.WhenAll(suspects.Select(d => IsLostAsync(d, timeout)));
        var lost = suspects.Where((_, i) => verdicts[i]).ToList();
        await EndAttemptAsync(retryable: true, $"rank {rank} on {device} sent no heartbeat for {timeout.TotalSeconds:F0} s", lost);
    }

    /// <summary>
    /// Whether a silent rank's device should be kept out of the next grant. Silence alone does not say the device is
    /// bad: the rank may have ended and its outcome been lost with this grain's previous silo. So the shard is asked:
    /// a device that answers and is not stuck in this run is healthy; one that does not answer, or still runs this
    /// run without heartbeats, is lost.
    /// </summary>
    private async Task<bool> IsLostAsync(DeviceInfo device, TimeSpan timeout)
    {
        try
        {
            ShardStatus status = await GrainFactory.GetGrain<IShardGrain>(device.ShardKey).GetStatusAsync()
                .WaitAsync(TimeSpan.FromTicks(Math.Min(timeout.Ticks, ShardProbeTimeout.Ticks)));
            bool stuckInThisRun = status.RunKey == Key && (status.LastHeartbeatUtc is not DateTime beat || DateTime.UtcNow - beat > timeout);
            return stuckInThisRun;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogProbeFailed(logger, Key, device.ShardKey, e.Message);
            return true;
        }
    }

    private void NotifyMessage(string message)
    {
        if (S.Plan is not null)
            _ = GrainFactory.GetGrain<IExperimentGrain>(S.Plan.ExperimentId).OnSeedProgressAsync(new ProgressEvent
            {
                ExperimentId = S.Plan.ExperimentId,
                Seed = S.Plan.Seed,
                Kind = ProgressKind.Message,
                Step = S.Step,
                TotalSteps = S.TotalSteps,
                State = S.State,
                Message = message,
            });
    }

    private void NotifyExperiment()
    {
        if (S.Plan is not null)
            _ = GrainFactory.GetGrain<IExperimentGrain>(S.Plan.ExperimentId).OnSeedStatusAsync(Status());
    }

    private SeedRunStatus Status() => new()
    {
        Seed = S.Plan?.Seed ?? 0,
        State = S.State,
        Step = S.Step,
        TotalSteps = S.TotalSteps,
        Latest = _latest,
        Attempt = S.Attempt,
        Devices = S.Devices.Select(d => d.ShardKey).ToList(),
        LastCheckpoint = S.LastCheckpoint,
        Error = S.Error,
        Metrics = S.Metrics,
        OutputDirectory = S.Plan?.Spec.OutputDir,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: attempt {Attempt} on {Devices}")]
    private static partial void LogAttempt(ILogger logger, string key, int attempt, string devices);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string key, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "SeedRun {Key}: {State}")]
    private static partial void LogFinished(ILogger logger, string key, RunState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: inventory unreachable, will ask again: {Error}")]
    private static partial void LogInventoryUnreachable(ILogger logger, string key, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: silent shard {Shard} did not answer a status probe: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string key, string shard, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SeedRun {Key}: could not cancel {Shard}: {Error}")]
    private static partial void LogCancelFailed(ILogger logger, string key, string shard, string error);
}
