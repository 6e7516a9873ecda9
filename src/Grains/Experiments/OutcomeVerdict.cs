using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Experiments;

/// <summary>What a rank's outcome means for its attempt.</summary>
public enum Verdict
{
    /// <summary>The rank ended as it should; the attempt waits for the others.</summary>
    Wait,
    Completed,
    Cancelled,
    Retry,
    Fail,
}

/// <summary>
/// Judges one rank's outcome of the current attempt, given what was asked of the run. A pure function of its inputs
/// (the seed run applies the verdict), so every case is tested without a cluster.
/// </summary>
public static class OutcomeVerdict
{
    /// <param name="finishedRanks">Ranks of the attempt that had already ended as they should, this one not counted.</param>
    public static (Verdict Verdict, string? Error, DeviceInfo? Lost) Judge(ShardOutcome outcome, bool cancelRequested, int finishedRanks,
        IReadOnlyList<DeviceInfo> devices)
    {
        // The outcome names its device as its silo knows it ("cuda:0"); the run knows which silo that is.
        string where = outcome.Rank < devices.Count ? devices[outcome.Rank].ShardKey : outcome.Device;
        return outcome.Result switch
        {
            ShardResult.Completed => (finishedRanks + 1 == devices.Count ? Verdict.Completed : Verdict.Wait, null, null),
            ShardResult.Cancelled when cancelRequested => (finishedRanks + 1 == devices.Count ? Verdict.Cancelled : Verdict.Wait, null, null),
            ShardResult.Cancelled => (Verdict.Retry, $"rank {outcome.Rank} on {where} stopped unexpectedly", null),
            ShardResult.Failed => (Verdict.Fail, $"rank {outcome.Rank} on {where}: {outcome.Error}", null),
            ShardResult.FailedRetryable => (Verdict.Retry, $"rank {outcome.Rank} on {where}: {outcome.Error}",
                outcome.UnreachableRank is int peer && peer < devices.Count ? devices[peer] : null),
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome.Result, "unknown shard result"),
        };
    }

    /// <summary>Whether the rank ended as the run asked (completed, or cancelled after a cancel): it owes no more heartbeats.</summary>
    public static bool EndedAsAsked(ShardOutcome outcome, bool cancelRequested) =>
        outcome.Result == ShardResult.Completed || (outcome.Result == ShardResult.Cancelled && cancelRequested);
}
