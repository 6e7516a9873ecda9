using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// The seed run's side that hears from its ranks: progress, heartbeats and outcomes of the current attempt (older
/// attempts are ignored), a device lost with its silo, and the watchdog that ends an attempt whose ranks fell silent.
/// </summary>
public sealed partial class SeedRunGrain
{
    public async Task OnShardProgressAsync(ShardProgress progress)
    {
        if (progress.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        _liveness.Heard(progress.Event.Rank, DateTime.UtcNow);
        if (progress.LastCheckpoint is not null && progress.LastCheckpoint != S.LastCheckpoint)
        {
            S.LastCheckpoint = progress.LastCheckpoint;
            await PersistAsync();
            Inventory.Checkpointed();   // the scheduler prefers to preempt runs with the least work since their checkpoint
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
        else if (progress.Event.Kind == ProgressKind.Eval)
        {
            _lastEval = progress.Event;
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
        if (outcome.Attempt == S.Attempt && S.State.IsWaiting() && SeedRunTransitions.IsNewer(S, outcome.LastCheckpoint))
        {
            // Rank 0 of an attempt that was stopped checkpoints on its way out: the next attempt can start there.
            S.LastCheckpoint = outcome.LastCheckpoint;
            await PersistAsync();
        }
        if (outcome.Attempt != S.Attempt || S.State != RunState.Running)
            return;
        SeedRunTransitions.RecordOutcome(S, outcome);
        bool stopAsked = S.CancelRequested || S.PreemptRequested;
        (Verdict verdict, string? error, DeviceInfo? lost) = OutcomeVerdict.Judge(outcome, stopAsked, _liveness.FinishedCount, S.Devices);
        if (OutcomeVerdict.EndedAsAsked(outcome, stopAsked))
            _liveness.Finished(outcome.Rank);
        switch (verdict)
        {
            case Verdict.Completed:
                await FinishAsync(RunState.Completed, null);
                break;
            case Verdict.Cancelled when !S.CancelRequested:
                await RequeuePreemptedAsync();
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

    private void StartWatchdog() => _watchdog.Start(() => this.RegisterGrainTimer(CheckHeartbeatsAsync, O.HeartbeatInterval, O.HeartbeatInterval));
}
