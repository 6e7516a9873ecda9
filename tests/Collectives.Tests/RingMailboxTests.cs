namespace FlatLora.Collectives.Tests;

public class RingMailboxTests
{
    private static RingSlice Slice(long step, int hop = 0, int slice = 0, float value = 1f) =>
        RingSlice.Copy(1, new FrameHeader(new SliceKey(step, 0, hop, slice), 2, 42), [value, value + 1]);

    [Fact]
    public void Stale_steps_and_duplicates_are_refused_and_early_slices_wait()
    {
        var inbox = new GradientInbox();
        using RingMailbox mailbox = inbox.Register("exp/1", 1, 0, 2, [1]);
        mailbox.AdvanceTo(5);
        Assert.Contains("stale", Assert.Throws<RingRejectedException>(() => mailbox.Post(Slice(4))).Message);
        mailbox.Post(Slice(6, value: 3f));   // a peer already a step ahead
        Assert.Contains("twice", Assert.Throws<RingRejectedException>(() => mailbox.Post(Slice(6))).Message);
        mailbox.AdvanceTo(6);
        using RingSlice received = mailbox.Receive(new SliceKey(6, 0, 0, 0), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal([3f, 4f], received.Values.ToArray());
    }

    [Fact]
    public async Task A_fault_fails_waiting_and_later_receives_but_not_slices_that_arrived()
    {
        var inbox = new GradientInbox();
        using RingMailbox mailbox = inbox.Register("exp/2", 1, 0, 2, [1]);
        mailbox.Post(Slice(0, hop: 0));
        var waiting = Task.Run(() => mailbox.Receive(new SliceKey(0, 0, 1, 0), TimeSpan.FromSeconds(30), CancellationToken.None));
        await Task.Delay(100);
        mailbox.Fault(new PeerUnavailableException(1, "rank 1 at 10.0.0.2:5051 closed its gradient connection"));
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, error.PeerRank);
        using RingSlice arrived = mailbox.Receive(new SliceKey(0, 0, 0, 0), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(2, arrived.Values.Length);
        Assert.Throws<PeerUnavailableException>(() => mailbox.Receive(new SliceKey(0, 0, 2, 0), TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public void A_silent_peer_times_out_naming_its_rank()
    {
        var inbox = new GradientInbox();
        using RingMailbox mailbox = inbox.Register("exp/3", 1, 2, 3, [1]);
        var error = Assert.Throws<CollectiveTimeoutException>(() => mailbox.Receive(new SliceKey(0, 0, 0, 0), TimeSpan.FromMilliseconds(200), CancellationToken.None));
        Assert.Contains("no gradients from rank 1", error.Message);
    }

    [Fact]
    public void Another_attempt_is_another_registration()
    {
        var inbox = new GradientInbox();
        using RingMailbox first = inbox.Register("exp/4", 1, 0, 2, [1]);
        Assert.Null(inbox.Find("exp/4", 2, 0));
        Assert.Same(first, inbox.Find("exp/4", 1, 0));
        first.Dispose();
        Assert.Null(inbox.Find("exp/4", 1, 0));
        Assert.Throws<ArgumentException>(() => inbox.Register("exp/4", 1, 0, 2, []));
    }
}
