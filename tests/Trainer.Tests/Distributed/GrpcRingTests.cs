using System.Net;
using System.Net.Sockets;
using FlatLora.Trainer.Distributed;

namespace FlatLora.Trainer.Tests.Distributed;

/// <summary>The ring over real HTTP/2 between Kestrel servers on loopback, one inbox per "process".</summary>
public class GrpcRingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Three_ranks_on_three_servers_sum_a_multi_frame_buffer_exactly()
    {
        const int world = 3, length = 700_001;   // about 2.7 MB per rank: several 1 MB frames, uneven chunks
        var inboxes = Enumerable.Range(0, world).Select(_ => new GradientInbox()).ToArray();
        var servers = await Task.WhenAll(inboxes.Select(i => GradientServer.StartAsync(i, IPAddress.Loopback, 0)));
        try
        {
            var buffers = Enumerable.Range(0, world).Select(r => Enumerable.Range(0, length).Select(i => (float)(r + i % 1000)).ToArray()).ToArray();
            byte[] secret = [4, 2];
            var rings = Enumerable.Range(0, world).Select(r => new RingAllReduce(inboxes[r].Register("exp/g", 1, r, secret),
                new GrpcRingTransport(servers[(r + 1) % world].Endpoint, Timeout), world, Timeout)).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => ring.SumAsync(0, buffers[r], 11, CancellationToken.None))).WaitAsync(TimeSpan.FromMinutes(1));
            for (int i = 0; i < length; i += 9973)
                Assert.Equal(3f * (i % 1000) + 3f, buffers[0][i]);
            Assert.All(buffers.Skip(1), b => Assert.Equal(buffers[0], b));
        }
        finally
        {
            foreach (GradientServer server in servers)
                await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_frame_with_the_wrong_secret_is_refused_before_its_body_is_read()
    {
        var inbox = new GradientInbox();
        inbox.Register("exp/s", 1, 1, [1, 2, 3]);
        await using GradientServer server = await GradientServer.StartAsync(inbox, IPAddress.Loopback, 0);
        await using var transport = new GrpcRingTransport(server.Endpoint, Timeout);
        var message = new RingMessage(new RingAddress("exp/s", 1, 0, 1, 0, 0, 0), 1, new float[10]);
        var error = await Assert.ThrowsAsync<RingRejectedException>(() => transport.SendAsync(message, [9, 9, 9], CancellationToken.None));
        Assert.Contains("wrong secret", error.Message);
        Assert.Contains(server.Endpoint, error.Message);
    }

    [Fact]
    public async Task A_dead_peer_is_reported_with_its_rank_and_address()
    {
        int port = ClosedPort();
        await using var transport = new GrpcRingTransport($"http://127.0.0.1:{port}", Timeout);
        var message = new RingMessage(new RingAddress("exp/d", 1, 0, 1, 0, 0, 0), 1, new float[10]);
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => transport.SendAsync(message, [1], CancellationToken.None));
        Assert.Equal(1, error.PeerRank);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Fact]
    public async Task A_sender_waits_for_a_peer_that_is_still_starting()
    {
        var inbox = new GradientInbox();
        await using GradientServer server = await GradientServer.StartAsync(inbox, IPAddress.Loopback, 0);
        await using var transport = new GrpcRingTransport(server.Endpoint, Timeout);
        var message = new RingMessage(new RingAddress("exp/w", 1, 0, 1, 0, 0, 0), 1, [5f]);
        Task send = transport.SendAsync(message, [3], CancellationToken.None);
        await Task.Delay(300);
        Assert.False(send.IsCompleted);
        RingMailbox mailbox = inbox.Register("exp/w", 1, 1, [3]);
        await send.WaitAsync(Timeout);
        RingMessage received = await mailbox.ReceiveAsync(0, 0, 0, 0, Timeout, CancellationToken.None);
        Assert.Equal([5f], received.Values);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
