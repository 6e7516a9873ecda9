namespace FlatLora.Collectives;

/// <summary>A peer did not answer within the collective timeout; the message names it. A retry may succeed.</summary>
public sealed class CollectiveTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// A peer could not be reached at all, or its connection broke (its process or silo is gone, or the link is down).
/// A retry may succeed, without that peer's device. Unlike a timeout, which can be a chain of ranks waiting on one
/// another, this names the culprit.
/// </summary>
public sealed class PeerUnavailableException(int peerRank, string message, Exception? inner = null) : IOException(message, inner)
{
    public int PeerRank { get; } = peerRank;
}

/// <summary>Two ranks drew different Flat-LoRA noise for the same step: their seeds, steps or weights diverged.</summary>
public sealed class FingerprintMismatchException(string message) : InvalidOperationException(message);

/// <summary>
/// The ring refused traffic: a peer that never proved it shares this attempt's secret, or an authenticated peer that
/// sent a malformed, oversized, truncated, duplicate or stale frame. It ends the attempt, never the run: a retry
/// gets a new attempt, secret and connections.
/// </summary>
public sealed class RingRejectedException(string message) : InvalidOperationException(message);
