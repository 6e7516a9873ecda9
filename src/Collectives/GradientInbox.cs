using System.Collections.Concurrent;

namespace FlatLora.Collectives;

/// <summary>
/// This process's registry of ring ranks: the data-plane listener and in-process senders find the mailbox of the
/// rank a connection or slice is addressed to here. One per process.
/// </summary>
public sealed class GradientInbox
{
    private readonly ConcurrentDictionary<(string RunKey, int Attempt, int Rank), RingMailbox> _mailboxes = new();

    public RingMailbox Register(string runKey, int attempt, int rank, int worldSize, byte[] secret)
    {
        if (secret.Length == 0)
            throw new ArgumentException($"rank {rank} of {runKey}: a ring needs a non-empty per-attempt secret");
        var mailbox = new RingMailbox(this, runKey, attempt, rank, worldSize, secret);
        if (!_mailboxes.TryAdd((runKey, attempt, rank), mailbox))
            throw new InvalidOperationException($"rank {rank} of {runKey} attempt {attempt} is already registered in this process");
        return mailbox;
    }

    internal void Unregister(RingMailbox mailbox) => _mailboxes.TryRemove(new((mailbox.RunKey, mailbox.Attempt, mailbox.Rank), mailbox));

    /// <summary>The mailbox of a registered rank, or null (not here, or not started yet).</summary>
    public RingMailbox? Find(string runKey, int attempt, int rank) => _mailboxes.GetValueOrDefault((runKey, attempt, rank));
}
