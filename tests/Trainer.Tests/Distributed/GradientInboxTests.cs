using FlatLora.Trainer.Distributed;

namespace FlatLora.Trainer.Tests.Distributed;

public class GradientInboxTests
{
    private static RingMessage Message(long step, int to = 0, string run = "exp/1") =>
        new(new RingAddress(run, 1, 1, to, step, 0, 0), 42, [1f, 2f]);

    [Fact]
    public void Frames_with_a_wrong_secret_or_for_unknown_ranks_are_refused()
    {
        var inbox = new GradientInbox();
        inbox.Register("exp/1", 1, 0, [1, 2, 3]);
        Assert.Contains("wrong secret", Assert.Throws<RingRejectedException>(() => inbox.Deliver(Message(0), [9, 9, 9])).Message);
        Assert.Contains("no rank 5", Assert.Throws<RingRejectedException>(() => inbox.Deliver(Message(0, to: 5), [1, 2, 3])).Message);
        Assert.True(inbox.IsPending(new RingAddress("exp/1", 2, 1, 0, 0, 0, 0)));   // another attempt is another run
    }

    [Fact]
    public async Task Stale_steps_are_refused_and_early_messages_wait()
    {
        var inbox = new GradientInbox();
        RingMailbox mailbox = inbox.Register("exp/1", 1, 0, [1]);
        mailbox.AdvanceTo(5);
        Assert.Contains("stale", Assert.Throws<RingRejectedException>(() => inbox.Deliver(Message(4), [1])).Message);
        inbox.Deliver(Message(6), [1]);   // a peer already a step ahead
        mailbox.AdvanceTo(6);
        RingMessage received = await mailbox.ReceiveAsync(6, 0, 0, 1, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal([1f, 2f], received.Values);
    }

    [Fact]
    public async Task A_ring_of_four_sums_exactly_and_identically_on_every_rank()
    {
        var inbox = new GradientInbox();
        const int world = 4, length = 10;   // 10 does not divide by 4: uneven chunks
        var buffers = Enumerable.Range(0, world).Select(r => Enumerable.Range(0, length).Select(i => (float)(r * 100 + i)).ToArray()).ToArray();
        var rings = Enumerable.Range(0, world).Select(r => new RingAllReduce(inbox.Register("exp/9", 1, r, [5]),
            new InProcessRingTransport(inbox, TimeSpan.FromSeconds(5)), world, TimeSpan.FromSeconds(5))).ToArray();
        await Task.WhenAll(rings.Select((ring, r) => ring.SumAsync(0, buffers[r], 7, CancellationToken.None)));
        float[] expected = Enumerable.Range(0, length).Select(i => (float)(600 + 4 * i)).ToArray();
        Assert.All(buffers, b => Assert.Equal(expected, b));
    }
}
