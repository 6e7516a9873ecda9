using System.Net;
using System.Runtime.InteropServices;
using FlatLora.Collectives.Tcp;
using FlatLora.Tests.Shared;

namespace FlatLora.Collectives.Tests;

/// <summary>
/// The data plane's keys and seals: a peer needs the cluster's key to take an edge, and no key crosses the wire; every
/// frame carries an AES-GCM tag under a per-connection key, so a forged, replayed or reordered frame fails its attempt
/// (and only it), naming the edge; encrypted frames show nothing of their values on the wire.
/// </summary>
public sealed class DataPlaneSealingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly byte[] ClusterKey = Convert.FromBase64String(RingKeys.NewClusterKey()), OtherKey = Convert.FromBase64String(RingKeys.NewClusterKey());
    private readonly GradientInbox _inbox = new();
    private readonly DataPlaneListener _listener;

    public DataPlaneSealingTests() => _listener = DataPlaneListener.Start(_inbox, new IPEndPoint(IPAddress.Loopback, 0));

    private static FrameHeader Header(long step, int hop, int count) => new(new SliceKey(step, 0, hop, 0), count, 0);

    private static float[] Marker(int count) => Enumerable.Range(0, count).Select(i => 1000f + i * 0.25f).ToArray();

    [Fact]
    public void A_silo_with_another_cluster_key_cannot_complete_a_handshake_and_the_edge_stays_free_for_the_true_peer()
    {
        using RingMailbox mailbox = _inbox.Register("exp/k", 1, 1, 2, ClusterKey);
        using (var wrong = new TcpRingTransport(_listener.LocalEndpoint, new RingEdge("exp/k", 1, 0, 1, OtherKey), TimeSpan.FromSeconds(1)))
        {
            var error = Assert.Throws<RingRejectedException>(() => wrong.Send(Header(0, 0, 1), [9f], CancellationToken.None));
            Assert.Contains("does not share this cluster's key", error.Message);
        }
        Assert.Null(mailbox.PeerAddress);
        using var right = new TcpRingTransport(_listener.LocalEndpoint, new RingEdge("exp/k", 1, 0, 1, ClusterKey), Timeout);
        right.Send(Header(0, 0, 3), [1f, 2f, 3f], CancellationToken.None);
        using RingSlice slice = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([1f, 2f, 3f], slice.Values.ToArray());
    }

    [Fact]
    public void An_attacker_who_connects_first_does_not_cost_the_attempt()
    {
        using RingMailbox mailbox = _inbox.Register("exp/race", 1, 1, 2, ClusterKey);
        // Two intruders race rank 0: one answers the challenge without the key, one holds its connection open and silent.
        using var silent = RawPeer.Connect(_listener.LocalEndpoint);
        silent.Stream.Write(RawPeer.HelloBytes("exp/race", 1, 0, 1));
        using (var guesser = RawPeer.Connect(_listener.LocalEndpoint))
            Assert.False(guesser.Handshake(RawPeer.HelloBytes("exp/race", 1, 0, 1), OtherKey));
        using var real = new TcpRingTransport(_listener.LocalEndpoint, new RingEdge("exp/race", 1, 0, 1, ClusterKey), Timeout);
        real.Send(Header(0, 0, 2), [4f, 5f], CancellationToken.None);
        using RingSlice slice = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([4f, 5f], slice.Values.ToArray());
        Assert.Equal(1, _listener.Accepted);
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("replayed")]
    [InlineData("reordered")]
    public void A_forged_replayed_or_reordered_frame_fails_only_its_attempt_naming_the_edge(string tampering)
    {
        using RingMailbox victim = _inbox.Register("exp/f", 1, 1, 2, ClusterKey);
        using RingMailbox other = _inbox.Register("exp/f", 2, 1, 2, ClusterKey);
        using var peer = RawPeer.Connect(_listener.LocalEndpoint);
        Assert.True(peer.Handshake(RawPeer.HelloBytes("exp/f", 1, 0, 1), ClusterKey));
        byte[] first = peer.SealedFrame(new SliceKey(0, 0, 0, 0), [1f, 2f]), second = peer.SealedFrame(new SliceKey(0, 0, 1, 0), [3f, 4f]);
        switch (tampering)
        {
            case "forged":
                first[FrameHeader.Size + 1] ^= 0x40;   // one bit of the values changed on the way
                peer.Send(first);
                break;
            case "replayed":
                peer.Send(first);
                peer.Send(first);
                break;
            case "reordered":
                peer.Send(second);
                peer.Send(first);
                break;
        }
        var error = Assert.Throws<RingRejectedException>(() =>
        {
            for (int hop = 0; hop < 2; hop++)
                victim.Receive(new SliceKey(0, 0, hop, 0), Timeout, CancellationToken.None).Dispose();
        });
        Assert.Contains("authentication tag does not match", error.Message);
        Assert.Contains("rank 1 of exp/f (attempt 1): rank 0 at 127.0.0.1:", error.Message);
        // The other attempt on the same listener is untouched.
        using var sender = new TcpRingTransport(_listener.LocalEndpoint, new RingEdge("exp/f", 2, 0, 1, ClusterKey), Timeout);
        sender.Send(Header(0, 0, 1), [7f], CancellationToken.None);
        using RingSlice slice = other.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([7f], slice.Values.ToArray());
    }

    [Fact]
    public void A_recorded_connection_holds_no_key_and_encrypted_values_do_not_show_while_authenticated_ones_do()
    {
        float[] values = Marker(4096);
        byte[] plain = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        foreach (FrameSealing sealing in new[] { FrameSealing.Encrypted, FrameSealing.Authenticated })
        {
            var inbox = new GradientInbox();
            using DataPlaneListener listener = DataPlaneListener.Start(inbox, new IPEndPoint(IPAddress.Loopback, 0), sealing);
            using var proxy = new RecordingTcpProxy(listener.LocalEndpoint.Port);
            string run = $"exp/w-{sealing}";
            using RingMailbox mailbox = inbox.Register(run, 1, 1, 2, ClusterKey);
            var edge = new RingEdge(run, 1, 0, 1, ClusterKey);
            using (var transport = new TcpRingTransport(new IPEndPoint(IPAddress.Loopback, proxy.Port), edge, Timeout, sealing))
            {
                transport.Send(Header(3, 0, values.Length), values, CancellationToken.None);
                using RingSlice slice = mailbox.Receive(new SliceKey(3, 0, 0, 0), Timeout, CancellationToken.None);
                Assert.Equal(values, slice.Values.ToArray());
            }
            byte[] wire = proxy.Recorded();
            Assert.True(wire.Length > plain.Length, $"{sealing}: recorded {wire.Length} bytes");
            Assert.Equal(-1, wire.AsSpan().IndexOf(ClusterKey.AsSpan(0, 16)));
            Assert.Equal(-1, wire.AsSpan().IndexOf(edge.Key().AsSpan(0, 16)));
            int found = wire.AsSpan().IndexOf(plain.AsSpan(0, 64));
            if (sealing == FrameSealing.Encrypted)
                Assert.Equal(-1, found);
            else
                Assert.NotEqual(-1, found);
        }
    }

    [Fact]
    public void A_listener_that_takes_only_encrypted_frames_refuses_a_peer_that_offers_authenticated_ones()
    {
        using RingMailbox mailbox = _inbox.Register("exp/e", 1, 1, 2, ClusterKey);
        using var peer = RawPeer.Connect(_listener.LocalEndpoint);
        Assert.False(peer.Handshake(RawPeer.HelloBytes("exp/e", 1, 0, 1, sealing: FrameSealing.Authenticated), ClusterKey));
        Assert.Null(mailbox.PeerAddress);
    }

    [Fact]
    public void Keys_differ_per_edge_attempt_and_run_and_a_cluster_key_must_be_32_bytes_of_base64()
    {
        byte[] key = RingKeys.Edge(ClusterKey, "exp/a", 1, 0, 1);
        Assert.NotEqual(key, RingKeys.Edge(ClusterKey, "exp/a", 1, 1, 0));
        Assert.NotEqual(key, RingKeys.Edge(ClusterKey, "exp/a", 2, 0, 1));
        Assert.NotEqual(key, RingKeys.Edge(ClusterKey, "exp/b", 1, 0, 1));
        Assert.Equal(key, RingKeys.Edge(ClusterKey, "exp/a", 1, 0, 1));
        Assert.Contains("FlatLora:Silo:ClusterKey: not base64", Assert.Throws<ArgumentException>(() => RingKeys.ParseClusterKey("not base64!", "FlatLora:Silo:ClusterKey")).Message);
        Assert.Contains("16 bytes", Assert.Throws<ArgumentException>(() => RingKeys.ParseClusterKey(Convert.ToBase64String(new byte[16]), "k")).Message);
    }

    public void Dispose() => _listener.Dispose();
}
