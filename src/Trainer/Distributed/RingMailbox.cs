using System.Collections.Concurrent;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Incoming ring messages of one rank of one attempt. Messages may arrive before the rank asks for them (a fast
/// peer is a hop ahead); they wait here, keyed by (step, phase, hop).
/// </summary>
public sealed class RingMailbox
{
    private readonly ConcurrentDictionary<(long Step, int Phase, int Hop), TaskCompletionSource<RingMessage>> _slots = new();
    private long _currentStep;

    public RingMailbox(string runKey, int attempt, int rank, byte[] secret)
    {
        RunKey = runKey;
        Attempt = attempt;
        Rank = rank;
        Secret = secret;
    }

    public string RunKey { get; }
    public int Attempt { get; }
    public int Rank { get; }
    internal byte[] Secret { get; }

    /// <summary>Messages for earlier steps are stale and refused.</summary>
    public long CurrentStep => Interlocked.Read(ref _currentStep);

    internal void Post(RingMessage message)
    {
        RingAddress a = message.Address;
        if (a.Step < CurrentStep)
            throw new RingRejectedException($"rank {Rank} of {RunKey}: stale message for step {a.Step} (now at step {CurrentStep})");
        if (!Slot(a.Step, a.Phase, a.Hop).TrySetResult(message))
            throw new RingRejectedException($"rank {Rank} of {RunKey}: duplicate message for step {a.Step} phase {a.Phase} hop {a.Hop}");
    }

    /// <summary>Waits for the message of (step, phase, hop), or throws a timeout naming the rank that owes it.</summary>
    public async Task<RingMessage> ReceiveAsync(long step, int phase, int hop, int fromRank, TimeSpan timeout, CancellationToken cancellationToken)
    {
        TaskCompletionSource<RingMessage> slot = Slot(step, phase, hop);
        try
        {
            return await slot.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new CollectiveTimeoutException(
                $"rank {Rank} of {RunKey} (attempt {Attempt}): no gradients from rank {fromRank} for step {step} " +
                $"({(phase == 0 ? "reduce-scatter" : "all-gather")} hop {hop}) within {timeout.TotalSeconds:F0} s");
        }
        finally
        {
            _slots.TryRemove((step, phase, hop), out _);
        }
    }

    /// <summary>Moves to a new step, dropping anything left from earlier ones.</summary>
    public void AdvanceTo(long step)
    {
        Interlocked.Exchange(ref _currentStep, step);
        foreach (var key in _slots.Keys.Where(k => k.Step < step).ToList())
            _slots.TryRemove(key, out _);
    }

    private TaskCompletionSource<RingMessage> Slot(long step, int phase, int hop) =>
        _slots.GetOrAdd((step, phase, hop), _ => new TaskCompletionSource<RingMessage>(TaskCreationOptions.RunContinuationsAsynchronously));
}
