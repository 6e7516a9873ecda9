using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Experiments;

/// <summary>How an experiment follows its seeds, and what it hands each seed: pure functions of the experiment's state.</summary>
internal static class ExperimentStates
{
    /// <summary>Failed if any seed failed; Cancelled if cancelled and a seed was; Stopped if every seed was stopped early; else Completed, once all ended.</summary>
    public static RunState Derive(IEnumerable<SeedRunStatus> seedStatuses, bool cancelRequested)
    {
        var seeds = seedStatuses.ToList();
        if (seeds.All(s => s.State.IsFinal()))
        {
            if (seeds.Any(s => s.State == RunState.Failed))
                return RunState.Failed;
            if (cancelRequested && seeds.Any(s => s.State == RunState.Cancelled))
                return RunState.Cancelled;
            return seeds.All(s => s.State == RunState.Stopped) ? RunState.Stopped : RunState.Completed;
        }
        return seeds.Any(s => s.State is RunState.Running || s.State.IsFinal()) ? RunState.Running : RunState.Queued;
    }

    /// <summary>The plan of one seed: the experiment's spec with its seed and its own output folder.</summary>
    public static SeedRunPlan PlanOf(string experimentId, TrainSpec spec, long seed, string? sweepId, RunOwner? owner) => new()
    {
        ExperimentId = experimentId,
        Seed = seed,
        Spec = spec with { Seed = seed, OutputDir = Path.Combine(spec.OutputDir, experimentId, $"seed-{seed}") },
        WorldSize = spec.Experiment.WorldSize,
        MaxRetries = spec.Experiment.MaxRetries,
        MinWorldSize = spec.Experiment.MinWorldSize ?? 1,
        SweepId = sweepId,
        Owner = owner ?? RunOwner.Local,
        Priority = PriorityClasses.TryParse(spec.Experiment.Priority, out PriorityClass priority) ? priority : PriorityClass.Normal,
        Preemptible = spec.Experiment.Preemptible,
    };
}
