using System.Net;
using System.Net.Sockets;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Collectives.Tests;

/// <summary>The ring over real TCP between data-plane listeners on loopback, one inbox per "host".</summary>
public class TcpRingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly byte[] Secret = [4, 2, 4, 2];

    [Fact]
    public async Task Three_hosts_sum_a_multi_slice_buffer_exactly_and_identically()
    {
        const int world = 3, length = 700_001;   // about 2.7 MB per rank: several slices per chunk, uneven chunks
        var inboxes = Enumerable.Range(0, world).Select(_ => new GradientInbox()).ToArray();
        var listeners = inboxes.Select(i => DataPlaneListener.Start(i, new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        try
        {
            float[][] buffers = RingAllReduceTests.Buffers(world, length);
            var rings = Enumerable.Range(0, world).Select(r =>
            {
                var edge = new RingEdge("exp/g", 1, r, (r + 1) % world, Secret);
                return new RingAllReduce(inboxes[r].Register("exp/g", 1, r, world, Secret),
                    new TcpRingTransport(listeners[edge.ToRank].LocalEndpoint, edge, Timeout, maxSliceFloats: 50_000), Timeout, sliceFloats: 50_000);
            }).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => Task.Run(() => ring.Sum(0, 0, buffers[r], 11, CancellationToken.None)))).WaitAsync(TimeSpan.FromMinutes(1));
            for (int i = 0; i < length; i += 9973)
                Assert.Equal(RingAllReduceTests.Expected(world, i), buffers[0][i]);
            Assert.All(buffers.Skip(1), b => Assert.Equal(buffers[0], b));
            Assert.All(listeners, l => Assert.Equal(1, l.Accepted));   // one connection per edge, for the whole attempt
            foreach (RingAllReduce ring in rings)
                ring.Dispose();
        }
        finally
        {
            foreach (DataPlaneListener listener in listeners)
                listener.Dispose();
        }
    }

    [Fact]
    public void A_dead_peer_is_reported_with_its_rank_and_address()
    {
        int port = ClosedPort();
        using var transport = new TcpRingTransport(new IPEndPoint(IPAddress.Loopback, port), new RingEdge("exp/d", 1, 0, 1, Secret), Timeout);
        var error = Assert.Throws<PeerUnavailableException>(() => transport.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 1, 0), [1f], CancellationToken.None));
        Assert.Equal(1, error.PeerRank);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Fact]
    public async Task A_sender_waits_for_a_peer_that_is_still_starting()
    {
        var inbox = new GradientInbox();
        using DataPlaneListener listener = DataPlaneListener.Start(inbox, new IPEndPoint(IPAddress.Loopback, 0));
        using var transport = new TcpRingTransport(listener.LocalEndpoint, new RingEdge("exp/w", 1, 0, 1, Secret), Timeout);
        Task send = Task.Run(() => transport.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 1, 0), [5f], CancellationToken.None));
        await Task.Delay(400);
        Assert.False(send.IsCompleted);
        using RingMailbox mailbox = inbox.Register("exp/w", 1, 1, 2, Secret);
        await send.WaitAsync(Timeout);
        using RingSlice received = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([5f], received.Values.ToArray());
    }

    [Fact]
    public void A_peer_that_dies_mid_collective_is_named_at_once_not_after_the_timeout()
    {
        var inbox = new GradientInbox();
        using DataPlaneListener listener = DataPlaneListener.Start(inbox, new IPEndPoint(IPAddress.Loopback, 0));
        using RingMailbox mailbox = inbox.Register("exp/k", 1, 1, 2, Secret);
        var edge = new RingEdge("exp/k", 1, 0, 1, Secret);
        var sender = new TcpRingTransport(listener.LocalEndpoint, edge, Timeout);
        sender.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 2, 0), [1f, 2f], CancellationToken.None);
        sender.Dispose();   // as if its process were killed after the first hop
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (RingSlice first = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None))
            Assert.Equal([1f, 2f], first.Values.ToArray());
        var error = Assert.Throws<PeerUnavailableException>(() => mailbox.Receive(new SliceKey(0, 0, 1, 0), TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(0, error.PeerRank);
        Assert.Contains("rank 0 at 127.0.0.1:", error.Message);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
