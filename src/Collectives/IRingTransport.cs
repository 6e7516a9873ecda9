namespace FlatLora.Collectives;

/// <summary>Carries the ring's slices from this rank to the next one, in order.</summary>
public interface IRingTransport : IDisposable
{
    /// <summary>
    /// Hands one slice to the next rank: blocks until its bytes are in the network's (or the peer mailbox's) hands,
    /// so the caller may then overwrite <paramref name="values"/>. Throws <see cref="PeerUnavailableException"/> when
    /// the next rank cannot be reached.
    /// </summary>
    void Send(FrameHeader header, ReadOnlySpan<float> values, CancellationToken cancellationToken);

    /// <summary>Breaks a <see cref="Send"/> that is stuck on a dead link: the ring has failed elsewhere.</summary>
    void Abort();
}

/// <summary>Same process: slices go straight into the next rank's mailbox (ranks on one silo never touch the network).</summary>
public sealed class InProcessRingTransport(GradientInbox inbox, string runKey, int attempt, int fromRank, int toRank, TimeSpan waitForPeer)
    : IRingTransport
{
    private RingMailbox? _next;

    public void Send(FrameHeader header, ReadOnlySpan<float> values, CancellationToken cancellationToken)
    {
        _next ??= WaitForPeer(cancellationToken);
        _next.Post(RingSlice.Copy(fromRank, header, values));
    }

    // The next rank may still be loading its model when this one is ready to send.
    private RingMailbox WaitForPeer(CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + waitForPeer;
        while (true)
        {
            if (inbox.Find(runKey, attempt, toRank) is { } mailbox)
                return mailbox;
            if (DateTime.UtcNow > deadline)
                throw new CollectiveTimeoutException($"rank {toRank} of {runKey} did not start within {waitForPeer.TotalSeconds:F0} s");
            cancellationToken.WaitHandle.WaitOne(20);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public void Abort()
    {
    }

    public void Dispose()
    {
    }
}
