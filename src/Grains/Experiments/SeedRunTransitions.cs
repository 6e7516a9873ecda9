using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Experiments;

/// <summary>How an ending attempt ends the run: retried from its checkpoint, or finished in a final state.</summary>
internal readonly record struct AttemptEnd(bool Requeue, RunState Final, string? Error);

/// <summary>
/// The seed run's state changes, apart from the grain that persists them and tells the others: each is a pure change
/// of <see cref="SeedRunGrainState"/> (time passed in), so every rule is tested without a cluster.
/// </summary>
internal static class SeedRunTransitions
{
    /// <summary>The state a cancel ends in: Stopped when a sweep stopped the run early, else Cancelled.</summary>
    public static RunState CancelledState(SeedRunGrainState s) => s.StopRequested ? RunState.Stopped : RunState.Cancelled;

    /// <summary>The first start: queued for devices from now.</summary>
    public static void Queue(SeedRunGrainState s, SeedRunPlan plan, DateTime now)
    {
        s.Plan = plan;
        s.State = RunState.Queued;
        s.QueuedUtc = now;
        s.WaitingSinceUtc = now;
    }

    /// <summary>A new attempt on the granted devices.</summary>
    public static void BeginAttempt(SeedRunGrainState s, IReadOnlyList<DeviceInfo> devices, DateTime now)
    {
        s.Attempt++;
        s.Devices = [.. devices];
        s.State = RunState.Running;
        s.StartedUtc ??= now;
        s.Error = null;
    }

    /// <summary>
    /// How the current attempt ends: a cancel wins (a failure while stopping is part of the stop), then a failure that
    /// cannot be retried or has used up max_retries (attempts that never reached a shard are not counted), else a retry.
    /// </summary>
    public static AttemptEnd Decide(SeedRunGrainState s, bool retryable, string error)
    {
        if (s.CancelRequested)
            return new AttemptEnd(false, CancelledState(s), s.Error);
        if (!retryable || s.Plan is null || TrainedAttempts(s) > FailedAttemptsBudget(s))
            return new AttemptEnd(false, RunState.Failed, retryable ? $"{error} (after {TrainedAttempts(s)} attempt(s){UnroutedNote(s)})" : error);
        return new AttemptEnd(true, RunState.Queued, null);
    }

    /// <summary>Attempts that reached their shards: start tries that were never routed are counted apart.</summary>
    public static int TrainedAttempts(SeedRunGrainState s) => s.Attempt - s.UnroutedAttempts;

    private static string UnroutedNote(SeedRunGrainState s) => s.UnroutedAttempts == 0 ? "" : $"; {s.UnroutedAttempts} start tries never reached a shard";

    /// <summary>Back in the queue at the end, from the last checkpoint; the last devices are released once.</summary>
    public static void Requeue(SeedRunGrainState s, string error, DateTime now)
    {
        s.State = RunState.Queued;
        s.QueuedUtc = now;
        s.WaitingSinceUtc = now;
        s.Error = $"attempt {s.Attempt} failed: {error}; resuming from {s.LastCheckpoint ?? "the start"}";
        s.Devices = [];
        s.ReleasePending = true;
        s.PreemptRequested = false;
    }

    /// <summary>
    /// Its ranks checkpointed and stopped for the scheduler: back in the queue at its old place (QueuedUtc is kept), to
    /// resume from that checkpoint. Not a failure: it does not count against max_retries.
    /// </summary>
    public static void Preempted(SeedRunGrainState s, DateTime now)
    {
        s.State = RunState.Preempted;
        s.WaitingSinceUtc = now;
        s.Preemptions++;
        s.PreemptRequested = false;
        s.Error = null;
        s.Devices = [];
        s.ReleasePending = true;
    }

    /// <summary>Attempts that may end in a retryable failure before the run fails: max_retries, plus one per preemption (not a failure).</summary>
    public static int FailedAttemptsBudget(SeedRunGrainState s) => s.Plan?.MaxRetries + s.Preemptions ?? 0;

    /// <summary>Ended for good; the end is owed to the experiment and the inventory until both have it.</summary>
    /// <param name="loggedSoFar">A run that did not complete keeps what it had logged (its results show the step it reached).</param>
    public static void Finish(SeedRunGrainState s, RunState final, string? error, DateTime now, RunMetrics? loggedSoFar = null)
    {
        if (final != RunState.Completed && s.Metrics is null)
            s.Metrics = loggedSoFar;
        s.State = final;
        s.Error = error;
        s.FinishedUtc = now;
        s.EndPending = true;
    }

    /// <summary>What a rank's outcome of the current attempt tells the run: its checkpoint, and rank 0's figures.</summary>
    public static void RecordOutcome(SeedRunGrainState s, ShardOutcome outcome)
    {
        if (outcome.LastCheckpoint is not null)
            s.LastCheckpoint = outcome.LastCheckpoint;
        if (outcome.Rank == 0 && outcome.Metrics is not null)
        {
            // One-way reports may arrive out of order: the outcome, not the last progress event, says where it ended.
            s.Metrics = outcome.Metrics;
            s.Step = s.TotalSteps = outcome.Metrics.Steps;
        }
    }

    /// <summary>
    /// The figures of a run that ended before completing: the steps it reached, its last logged loss and throughput,
    /// and its last evaluation (what the results of a cancelled or failed run show instead of nothing).
    /// </summary>
    public static RunMetrics LoggedSoFar(SeedRunGrainState s, StepFigures? latest, ProgressEvent? lastEval) => new()
    {
        Steps = s.Step,
        FinalLoss = latest?.Loss ?? double.NaN,
        TokensPerSecond = latest?.TokensPerSecond ?? double.NaN,
        EvalLoss = lastEval?.EvalLoss ?? double.NaN,
        EvalExactMatch = lastEval?.EvalExactMatch ?? double.NaN,
        EvalTokenAccuracy = lastEval?.EvalTokenAccuracy ?? double.NaN,
        EvalSegmentDrift = lastEval?.EvalSegmentDrift ?? double.NaN,
        EvalHighDriftShare = lastEval?.EvalHighDriftShare ?? double.NaN,
    };

    /// <summary>Whether <paramref name="checkpoint"/> is newer than the run's (folders are step-NNNNNN: ordinal order is step order).</summary>
    public static bool IsNewer(SeedRunGrainState s, string? checkpoint) =>
        checkpoint is not null && (s.LastCheckpoint is null || string.CompareOrdinal(checkpoint, s.LastCheckpoint) > 0);
}
