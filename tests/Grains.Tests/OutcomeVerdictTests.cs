using FlatLora.Abstractions.Cluster;
using FlatLora.Grains.Experiments;

namespace FlatLora.Grains.Tests;

public class OutcomeVerdictTests
{
    private static readonly IReadOnlyList<DeviceInfo> Devices =
        [new DeviceInfo { Silo = "a", Device = "cuda:0" }, new DeviceInfo { Silo = "b", Device = "cuda:0" }];

    private static ShardOutcome Outcome(ShardResult result, int rank = 1, int? unreachable = null) =>
        new() { Result = result, Rank = rank, Device = Devices[rank].ShardKey, Error = "boom", UnreachableRank = unreachable };

    [Theory]
    [InlineData(ShardResult.Completed, false, 0, Verdict.Wait)]
    [InlineData(ShardResult.Completed, false, 1, Verdict.Completed)]
    [InlineData(ShardResult.Cancelled, true, 0, Verdict.Wait)]
    [InlineData(ShardResult.Cancelled, true, 1, Verdict.Cancelled)]
    [InlineData(ShardResult.Cancelled, false, 1, Verdict.Retry)]   // stopped without being asked: the silo shut down
    [InlineData(ShardResult.Failed, false, 1, Verdict.Fail)]
    [InlineData(ShardResult.Failed, true, 1, Verdict.Fail)]
    [InlineData(ShardResult.FailedRetryable, false, 0, Verdict.Retry)]
    public void An_outcome_is_judged_by_its_result_what_was_asked_and_the_ranks_that_ended(ShardResult result, bool cancelRequested, int finished, Verdict expected)
    {
        (Verdict verdict, string? error, _) = OutcomeVerdict.Judge(Outcome(result), cancelRequested, finished, Devices);
        Assert.Equal(expected, verdict);
        Assert.Equal(verdict is Verdict.Retry or Verdict.Fail, error is not null);
    }

    [Fact]
    public void A_peer_that_could_not_be_reached_is_named_as_lost()
    {
        (_, string? error, DeviceInfo? lost) = OutcomeVerdict.Judge(Outcome(ShardResult.FailedRetryable, rank: 0, unreachable: 1), false, 0, Devices);
        Assert.Equal(Devices[1], lost);
        Assert.Contains("rank 0 on a/cuda:0: boom", error);
        Assert.Null(OutcomeVerdict.Judge(Outcome(ShardResult.FailedRetryable, unreachable: 7), false, 0, Devices).Lost);
    }
}
