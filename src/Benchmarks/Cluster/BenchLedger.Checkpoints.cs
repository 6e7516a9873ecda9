namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// The ledger as the simulated devices' disk (with projects): each trial's newest checkpoint, the furthest step done,
/// and the steps done a second time, counted against what ended the execution before (a kill or a preemption).
/// </summary>
public sealed partial class BenchLedger
{
    private long _redoneAfterPreemption, _redoneAfterKill;

    /// <summary>
    /// The step a new execution of the trial starts after: its newest checkpoint. Steps it did beyond that checkpoint
    /// are done again, and counted against what ended the last execution: a kill (expected: the work since the last
    /// checkpoint is lost) or a preemption (which checkpoints first, so nothing should be).
    /// </summary>
    public int Resume(string runKey)
    {
        Trial trial = _trials.GetOrAdd(runKey, _ => new Trial());
        lock (trial)
        {
            int redone = Math.Max(0, trial.HighestStep - trial.CheckpointStep);
            if (trial.LastEndKilled)
                Interlocked.Add(ref _redoneAfterKill, redone);
            else
                Interlocked.Add(ref _redoneAfterPreemption, redone);
            // Counted once: the steps beyond the checkpoint are the new execution's from here on.
            trial.HighestStep = trial.CheckpointStep;
            trial.LastEndKilled = false;
            return trial.CheckpointStep;
        }
    }

    /// <summary>The furthest step an execution of the trial completed since the last resume.</summary>
    public int HighestStep(string runKey)
    {
        if (!_trials.TryGetValue(runKey, out Trial? trial))
            return 0;
        lock (trial)
            return trial.HighestStep;
    }

    public void StepDone(string runKey, int step)
    {
        Trial trial = _trials[runKey];
        lock (trial)
            trial.HighestStep = Math.Max(trial.HighestStep, step);
    }

    /// <summary>A checkpoint of the trial at <paramref name="step"/> is complete; returns its name, as a trainer's directory.</summary>
    public string Checkpoint(string runKey, int step)
    {
        Trial trial = _trials[runKey];
        lock (trial)
            trial.CheckpointStep = Math.Max(trial.CheckpointStep, step);
        return CheckpointName(runKey, step);
    }

    public string? LastCheckpoint(string runKey)
    {
        Trial trial = _trials[runKey];
        lock (trial)
            return trial.CheckpointStep == 0 ? null : CheckpointName(runKey, trial.CheckpointStep);
    }

    // Ordinal order of the names is step order, as the seed run compares them.
    private static string CheckpointName(string runKey, int step) => $"sim://{runKey}/checkpoint-{step:D6}";

    /// <summary>The execution died with its silo: what it did since its checkpoint is lost.</summary>
    public void Killed(string runKey)
    {
        Trial trial = _trials[runKey];
        lock (trial)
            trial.LastEndKilled = true;
    }

    /// <summary>Steps done a second time after a preemption (should be none: a preempted job checkpoints first) and after a kill.</summary>
    public long StepsRedoneAfterPreemption => Interlocked.Read(ref _redoneAfterPreemption);
    public long StepsRedoneAfterKill => Interlocked.Read(ref _redoneAfterKill);
}
