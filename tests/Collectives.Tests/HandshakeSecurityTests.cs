using System.Net;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Collectives.Tests;

/// <summary>
/// Spoofing against the data plane: only a peer that proves it holds the attempt's secret, for a real ring edge,
/// gets a connection; every refusal looks the same; a bad frame from an authenticated peer ends that attempt only.
/// </summary>
public sealed class HandshakeSecurityTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly byte[] Secret = [1, 2, 3, 4, 5, 6, 7, 8], Previous = [8, 7, 6, 5, 4, 3, 2, 1];
    private readonly GradientInbox _inbox = new();
    private readonly DataPlaneListener _listener;

    public HandshakeSecurityTests() => _listener = DataPlaneListener.Start(_inbox, new IPEndPoint(IPAddress.Loopback, 0));

    private bool Try(byte[] hello, byte[] secret)
    {
        using var peer = RawPeer.Connect(_listener.LocalEndpoint);
        return peer.Handshake(hello, secret);
    }

    [Fact]
    public void Without_the_secret_with_the_previous_attempts_secret_or_off_the_ring_a_peer_is_refused()
    {
        using RingMailbox attempt1 = _inbox.Register("exp/s", 1, 1, 3, Previous);
        using RingMailbox attempt2 = _inbox.Register("exp/s", 2, 1, 3, Secret);
        attempt2.AdvanceTo(10);
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 10), [9, 9, 9]));            // no secret
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 10), Previous));             // attempt 1's secret
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 2, 1, step: 10), Secret));               // rank 2 is not rank 1's previous
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 3), Secret));                // a stale step
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 10, maxSliceFloats: int.MaxValue), Secret));   // a frame no one should take
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 7, step: 10), Secret));               // no such rank here
        Assert.Null(attempt2.PeerAddress);
        Assert.True(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 10), Secret));
        Assert.NotNull(attempt2.PeerAddress);
        Assert.False(Try(RawPeer.HelloBytes("exp/s", 2, 0, 1, step: 10), Secret));               // the edge is taken
        Assert.Equal(1, _listener.Accepted);
    }

    [Fact]
    public void A_recorded_handshake_replayed_to_a_listener_is_refused()
    {
        // The real rank 0 connects to host A; an eavesdropper replays its bytes to host B, which has the same rank waiting.
        var hostB = new GradientInbox();
        using DataPlaneListener listenerB = DataPlaneListener.Start(hostB, new IPEndPoint(IPAddress.Loopback, 0));
        using RingMailbox onA = _inbox.Register("exp/r", 1, 1, 2, Secret);
        using RingMailbox onB = hostB.Register("exp/r", 1, 1, 2, Secret);
        using var real = RawPeer.Connect(_listener.LocalEndpoint);
        Assert.True(real.Handshake(RawPeer.HelloBytes("exp/r", 1, 0, 1), Secret));
        using var replay = RawPeer.Connect(listenerB.LocalEndpoint);
        Assert.False(replay.Replay(real.Hello, real.ClientProof));
        Assert.True(replay.ClosedByListener());
        Assert.Null(onB.PeerAddress);
    }

    [Fact]
    public void A_refusal_looks_the_same_whether_or_not_the_rank_is_here()
    {
        using RingMailbox mailbox = _inbox.Register("exp/u", 1, 1, 2, Secret);
        // An outsider sees a challenge of the same size and a refusal either way; it cannot tell which silo hosts rank 1.
        foreach (int to in new[] { 1, 5 })
        {
            using var peer = RawPeer.Connect(_listener.LocalEndpoint);
            Assert.False(peer.Handshake(RawPeer.HelloBytes("exp/u", 1, 0, to), [0x55]));
            Assert.True(peer.ClosedByListener());
        }
    }

    [Fact]
    public void Nothing_is_allocated_for_a_peer_that_has_not_proved_itself()
    {
        using RingMailbox mailbox = _inbox.Register("exp/a", 1, 1, 2, Secret);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 20; i++)
        {
            using var peer = RawPeer.Connect(_listener.LocalEndpoint);
            // A hello announcing 4M-float frames, a wrong proof, then a frame header claiming 16 MB of values.
            Assert.False(peer.Handshake(RawPeer.HelloBytes("exp/a", 1, 0, 1, maxSliceFloats: DataPlaneListener.MaxSliceFloats), [7]));
            try
            {
                peer.Frame(new SliceKey(0, 0, 0, 0), DataPlaneListener.MaxSliceFloats, new float[16]);
            }
            catch (IOException)
            {
                // the listener may already have closed the connection
            }
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        // One announced frame would be 16 MB; 20 refused peers cost the process far less than one.
        Assert.True(allocated < 4 << 20, $"20 unauthenticated peers cost {allocated / 1024} KB of allocations");
        // The listener counts a refusal after the peer has read it.
        for (int wait = 0; wait < 100 && _listener.Refused < 20; wait++)
            Thread.Sleep(50);
        Assert.Equal(20, _listener.Refused);
        Assert.Null(mailbox.PeerAddress);
    }

    [Fact]
    public void A_frame_larger_than_announced_fails_that_attempt_only()
    {
        using RingMailbox bad = _inbox.Register("exp/b", 1, 1, 2, Secret);
        using RingMailbox other = _inbox.Register("exp/b", 2, 1, 2, Previous);
        using (var peer = RawPeer.Connect(_listener.LocalEndpoint))
        {
            Assert.True(peer.Handshake(RawPeer.HelloBytes("exp/b", 1, 0, 1, maxSliceFloats: 100), Secret));
            peer.Frame(new SliceKey(0, 0, 0, 0), 5000, new float[5000]);
            var error = Assert.Throws<RingRejectedException>(() => bad.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None));
            Assert.Contains("more than the 100 it announced", error.Message);
            Assert.Contains("rank 0 at 127.0.0.1:", error.Message);
        }
        AssertStillWorks(other, "exp/b", 2, Previous);
    }

    [Fact]
    public void A_truncated_frame_fails_that_attempt_only()
    {
        using RingMailbox bad = _inbox.Register("exp/t", 1, 1, 2, Secret);
        using RingMailbox other = _inbox.Register("exp/t", 2, 1, 2, Previous);
        using (var peer = RawPeer.Connect(_listener.LocalEndpoint))
        {
            Assert.True(peer.Handshake(RawPeer.HelloBytes("exp/t", 1, 0, 1), Secret));
            peer.Frame(new SliceKey(0, 0, 0, 0), 100, new float[10]);
        }
        var error = Assert.Throws<RingRejectedException>(() => bad.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None));
        Assert.Contains("truncated", error.Message);
        AssertStillWorks(other, "exp/t", 2, Previous);
    }

    private void AssertStillWorks(RingMailbox mailbox, string runKey, int attempt, byte[] secret)
    {
        using var sender = new TcpRingTransport(_listener.LocalEndpoint, new RingEdge(runKey, attempt, 0, 1, secret), Timeout);
        sender.Send(new FrameHeader(new SliceKey(0, 0, 0, 0), 3, 0), [1f, 2f, 3f], CancellationToken.None);
        using RingSlice slice = mailbox.Receive(new SliceKey(0, 0, 0, 0), Timeout, CancellationToken.None);
        Assert.Equal([1f, 2f, 3f], slice.Values.ToArray());
    }

    public void Dispose() => _listener.Dispose();
}
