using FlatLora.Grains.Experiments;

namespace FlatLora.Grains.Tests;

public class RankLivenessTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_rank_is_silent_once_unheard_for_longer_than_the_timeout()
    {
        var liveness = new RankLiveness();
        liveness.Start(3, T0);
        liveness.Heard(0, T0.AddSeconds(20));
        liveness.Heard(2, T0.AddSeconds(25));
        Assert.Empty(liveness.Silent(T0.AddSeconds(30), Timeout));
        Assert.Equal([1], liveness.Silent(T0.AddSeconds(31), Timeout));
        Assert.Equal([0, 1], liveness.Silent(T0.AddSeconds(51), Timeout));
    }

    [Fact]
    public void A_finished_rank_is_never_silent_while_the_others_keep_working()
    {
        var liveness = new RankLiveness();
        liveness.Start(2, T0);
        liveness.Finished(1);
        liveness.Heard(1, T0.AddSeconds(1));   // a late heartbeat of a finished rank does not bring it back
        liveness.Heard(0, T0.AddSeconds(100));
        Assert.Empty(liveness.Silent(T0.AddSeconds(120), Timeout));
        Assert.Equal(1, liveness.FinishedCount);
        Assert.Equal([0], liveness.Silent(T0.AddSeconds(131), Timeout));
    }

    [Fact]
    public void A_new_attempt_forgets_the_previous_one()
    {
        var liveness = new RankLiveness();
        liveness.Start(2, T0);
        liveness.Finished(0);
        liveness.Start(1, T0.AddSeconds(60));
        Assert.Equal(0, liveness.FinishedCount);
        Assert.Empty(liveness.Silent(T0.AddSeconds(60), Timeout));
        Assert.Equal([0], liveness.Silent(T0.AddSeconds(91), Timeout));
    }
}
