using FlatLora.Spec;

namespace FlatLora.Abstractions.Scheduling;

/// <summary>
/// A seed run's request for devices, with what the scheduler orders it by: its project and user (from the run's
/// owner), its priority, and its place (<see cref="QueuedUtc"/>: when it first queued; a preempted run keeps it).
/// </summary>
[GenerateSerializer]
public sealed record DeviceAsk
{
    [Id(0)] public required string RunKey { get; init; }
    [Id(1)] public int Count { get; init; } = 1;

    /// <summary>The fewest devices it may start on when the cluster has fewer healthy ones than <see cref="Count"/>.</summary>
    [Id(2)] public int Minimum { get; init; } = 1;

    /// <summary>Its place in line: when it first queued. Kept across preemptions, so a preempted run loses no place.</summary>
    [Id(3)] public DateTime QueuedUtc { get; init; }

    /// <summary>When it began waiting this time: what PreemptAfter and the wait histogram count from.</summary>
    [Id(4)] public DateTime WaitingSinceUtc { get; init; }

    [Id(5)] public string Project { get; init; } = "default";
    [Id(6)] public string User { get; init; } = "local";
    [Id(7)] public PriorityClass Priority { get; init; } = PriorityClass.Normal;
    [Id(8)] public bool Preemptible { get; init; } = true;

    /// <summary>It waits because it was preempted (it checkpointed and queued again at its old place).</summary>
    [Id(9)] public bool Preempted { get; init; }
}

/// <summary>A run that holds devices, as the scheduler sees it (the ask it was granted on, and how much work it would lose).</summary>
[GenerateSerializer]
public sealed record RunClaim
{
    [Id(0)] public required DeviceAsk Ask { get; init; }
    [Id(1)] public int Devices { get; init; }
    [Id(2)] public DateTime GrantedUtc { get; init; }

    /// <summary>When the run last reported a checkpoint (null: none this attempt).</summary>
    [Id(3)] public DateTime? CheckpointUtc { get; init; }

    /// <summary>Asked to checkpoint and give its devices back (null: not preempted).</summary>
    [Id(4)] public DateTime? PreemptingSinceUtc { get; init; }

    [Id(5)] public string? PreemptedFor { get; init; }

    /// <summary>Seconds of work since its last checkpoint (or its grant): what preempting it would redo, at most.</summary>
    public double WorkAtRisk(DateTime now) => (now - (CheckpointUtc is DateTime c && c > GrantedUtc ? c : GrantedUtc)).TotalSeconds;
}

/// <summary>One waiting run in the scheduler's order, and why it waits, in words.</summary>
[GenerateSerializer]
public sealed record QueuedRun(
    [property: Id(0)] int Position, [property: Id(1)] DeviceAsk Ask, [property: Id(2)] string Why, [property: Id(3)] bool Preempted = false);

/// <summary>A project's devices: what it holds against its fair share, its guarantee and its max.</summary>
[GenerateSerializer]
public sealed record ProjectUsage(
    [property: Id(0)] string Project, [property: Id(1)] int InUse, [property: Id(2)] double FairShare, [property: Id(3)] int Guaranteed,
    [property: Id(4)] int? Max, [property: Id(5)] int Waiting, [property: Id(6)] double Weight);
