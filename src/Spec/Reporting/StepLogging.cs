namespace FlatLora.Spec.Reporting;

/// <summary>
/// The one rule for when a step is logged (metrics.jsonl, progress events, CLI lines): the first step, every
/// <c>training.log_every</c>-th step done, and the last.
/// </summary>
public static class StepLogging
{
    public static bool IsDue(StepFigures step, int logEvery) => IsDue(step.Step, step.TotalSteps, logEvery);

    public static bool IsDue(long step, long totalSteps, int logEvery) =>
        step == 0 || (step + 1) % Math.Max(1, logEvery) == 0 || step + 1 >= totalSteps;
}
