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
}

public static class RunStateExtensions
{
    public static bool IsFinal(this RunState state) => state is RunState.Completed or RunState.Failed or RunState.Cancelled or RunState.Stopped;
}
