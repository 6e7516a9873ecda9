namespace FlatLora.Abstractions.Experiments;

/// <summary>Lifecycle of an experiment and of each seeded run. Completed, Failed, Cancelled and Stopped are final.</summary>
[GenerateSerializer]
public enum RunState
{
    Pending = 0,
    Queued = 1,
    Running = 2,
    Completed = 3,
    Failed = 4,
    Cancelled = 5,

    /// <summary>Ended early by a sweep's successive halving; not a failure.</summary>
    Stopped = 6,

    /// <summary>
    /// Its devices were taken back for fairer or more urgent work: it checkpointed at an optimizer-step boundary and
    /// waits in the queue at its old place, to resume bit-identically. Not final.
    /// </summary>
    Preempted = 7,
}

public static class RunStateExtensions
{
    public static bool IsFinal(this RunState state) => state is RunState.Completed or RunState.Failed or RunState.Cancelled or RunState.Stopped;

    /// <summary>Waiting for devices: queued, or preempted and queued again.</summary>
    public static bool IsWaiting(this RunState state) => state is RunState.Queued or RunState.Preempted;
}
