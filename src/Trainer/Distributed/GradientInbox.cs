using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// This process's entry point for ring traffic: routes each message to the mailbox of the rank it is addressed to,
/// after checking that the rank exists here and the sender knows its run's secret. One per process.
/// </summary>
public sealed class GradientInbox
{
    private readonly ConcurrentDictionary<(string RunKey, int Attempt, int Rank), RingMailbox> _mailboxes = new();

    public RingMailbox Register(string runKey, int attempt, int rank, byte[] secret)
    {
        var mailbox = new RingMailbox(runKey, attempt, rank, secret);
        if (!_mailboxes.TryAdd((runKey, attempt, rank), mailbox))
            throw new InvalidOperationException($"rank {rank} of {runKey} attempt {attempt} is already registered in this process");
        return mailbox;
    }

    public void Unregister(RingMailbox mailbox) => _mailboxes.TryRemove((mailbox.RunKey, mailbox.Attempt, mailbox.Rank), out _);

    /// <summary>True when the addressed rank is not registered yet (it may still be loading its model): the sender retries.</summary>
    public bool IsPending(RingAddress address) => !_mailboxes.ContainsKey((address.RunKey, address.Attempt, address.ToRank));

    /// <summary>Delivers a message, or throws <see cref="RingRejectedException"/> saying why it was refused.</summary>
    public void Deliver(RingMessage message, ReadOnlySpan<byte> secret) => Authenticate(message.Address, secret).Post(message);

    /// <summary>The addressed rank's mailbox, if the sender knows its secret; checked before a message body is read.</summary>
    public RingMailbox Authenticate(RingAddress a, ReadOnlySpan<byte> secret)
    {
        if (!_mailboxes.TryGetValue((a.RunKey, a.Attempt, a.ToRank), out RingMailbox? mailbox))
            throw new RingRejectedException($"no rank {a.ToRank} of {a.RunKey} attempt {a.Attempt} in this process");
        if (!CryptographicOperations.FixedTimeEquals(mailbox.Secret, secret))
            throw new RingRejectedException($"rank {a.ToRank} of {a.RunKey}: frame from rank {a.FromRank} has a wrong secret", unauthenticated: true);
        return mailbox;
    }
}
