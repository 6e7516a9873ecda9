namespace FlatLora.Trainer.Distributed;

/// <summary>A peer did not answer within the collective timeout; the message names it. A retry may succeed.</summary>
public sealed class CollectiveTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// A peer could not be reached at all (its process or silo is gone). A retry may succeed, without that peer's device.
/// Unlike a timeout, which can be a chain of ranks waiting on one another, this names the culprit.
/// </summary>
public sealed class PeerUnavailableException(int peerRank, string message, Exception? inner = null) : IOException(message, inner)
{
    public int PeerRank { get; } = peerRank;
}

/// <summary>Two ranks drew different Flat-LoRA noise for the same step: their seeds, steps or weights diverged.</summary>
public sealed class FingerprintMismatchException(string message) : InvalidOperationException(message);

/// <summary>The receiving side refused a frame (unknown run, wrong secret, stale step).</summary>
public sealed class RingRejectedException(string message, bool unauthenticated = false) : InvalidOperationException(message)
{
    /// <summary>The sender did not know the run's secret.</summary>
    public bool Unauthenticated { get; } = unauthenticated;
}
