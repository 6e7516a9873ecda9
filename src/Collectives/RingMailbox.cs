using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace FlatLora.Collectives;

/// <summary>
/// Incoming slices of one rank of one attempt. Slices may arrive before the rank asks for them (a fast peer is a hop
/// ahead); they wait here, keyed by <see cref="SliceKey"/>. A broken connection faults the mailbox: slices that
/// already arrived can still be taken, any other receive fails at once naming the peer instead of timing out.
/// </summary>
public sealed class RingMailbox : IDisposable
{
    private readonly ConcurrentDictionary<SliceKey, TaskCompletionSource<RingSlice>> _slots = new();
    private readonly List<IDisposable> _connections = [];
    private long _currentStep;
    private Exception? _fault;
    private int _attached;

    internal RingMailbox(GradientInbox inbox, string runKey, int attempt, int rank, int worldSize, byte[] secret)
    {
        Inbox = inbox;
        RunKey = runKey;
        Attempt = attempt;
        Rank = rank;
        WorldSize = worldSize;
        Secret = secret;
    }

    internal GradientInbox Inbox { get; }
    public string RunKey { get; }
    public int Attempt { get; }
    public int Rank { get; }
    public int WorldSize { get; }
    internal byte[] Secret { get; }

    /// <summary>The only rank allowed to send here: the previous one on the ring.</summary>
    public int PreviousRank => (Rank - 1 + WorldSize) % WorldSize;

    /// <summary>Where the previous rank's connection comes from, once it has authenticated ("10.0.0.2:40312").</summary>
    public string? PeerAddress { get; private set; }

    /// <summary>Slices for earlier steps are stale and refused.</summary>
    public long CurrentStep => Interlocked.Read(ref _currentStep);

    /// <summary>Claims the single inbound connection of this attempt; false when one is already attached.</summary>
    internal bool TryAttach(IDisposable connection, string peerAddress)
    {
        if (Interlocked.CompareExchange(ref _attached, 1, 0) != 0)
            return false;
        lock (_connections)
            _connections.Add(connection);
        PeerAddress = peerAddress;
        return true;
    }

    internal void Post(RingSlice slice)
    {
        SliceKey key = slice.Header.Key;
        if (key.Step < CurrentStep)
        {
            slice.Dispose();
            throw new RingRejectedException($"rank {Rank} of {RunKey}: rank {slice.FromRank} sent a stale slice for step {key.Step} (now at step {CurrentStep})");
        }
        if (!Slot(key).TrySetResult(slice))
        {
            slice.Dispose();
            throw new RingRejectedException($"rank {Rank} of {RunKey}: rank {slice.FromRank} sent step {key.Step} bucket {key.Bucket} hop {key.Hop} slice {key.Slice} twice");
        }
    }

    /// <summary>Fails every receive still waiting, and every later one for a slice that has not arrived.</summary>
    internal void Fault(Exception error)
    {
        if (Interlocked.CompareExchange(ref _fault, error, null) is not null)
            return;
        foreach (TaskCompletionSource<RingSlice> slot in _slots.Values)
            slot.TrySetException(error);
    }

    /// <summary>Waits for one slice, or throws a timeout naming the rank (and address) that owes it.</summary>
    public RingSlice Receive(SliceKey key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        TaskCompletionSource<RingSlice> slot = Slot(key);
        if (_fault is { } fault && !slot.Task.IsCompleted)
            slot.TrySetException(fault);
        try
        {
            if (!slot.Task.Wait(timeout, cancellationToken))
                throw new CollectiveTimeoutException(
                    $"rank {Rank} of {RunKey} (attempt {Attempt}): no gradients from rank {PreviousRank}{(PeerAddress is null ? "" : $" at {PeerAddress}")} " +
                    $"for step {key.Step} ({(key.Hop < WorldSize - 1 ? "reduce-scatter" : "all-gather")} hop {key.Hop}) within {timeout.TotalSeconds:F0} s");
            return slot.Task.Result;
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        finally
        {
            _slots.TryRemove(key, out _);
        }
    }

    /// <summary>Moves to a new step, dropping (and returning to the pool) anything left from earlier ones.</summary>
    public void AdvanceTo(long step)
    {
        Interlocked.Exchange(ref _currentStep, step);
        foreach (SliceKey key in _slots.Keys.Where(k => k.Step < step).ToList())
            if (_slots.TryRemove(key, out TaskCompletionSource<RingSlice>? slot) && slot.Task.IsCompletedSuccessfully)
                slot.Task.Result.Dispose();
    }

    private TaskCompletionSource<RingSlice> Slot(SliceKey key) =>
        _slots.GetOrAdd(key, _ => new TaskCompletionSource<RingSlice>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Leaves the inbox and closes the inbound connection; slices nobody took go back to the pool.</summary>
    public void Dispose()
    {
        Inbox.Unregister(this);
        Fault(new ObjectDisposedException($"rank {Rank} of {RunKey} attempt {Attempt} has left the ring"));
        lock (_connections)
        {
            foreach (IDisposable connection in _connections)
                connection.Dispose();
            _connections.Clear();
        }
        foreach (SliceKey key in _slots.Keys.ToList())
            if (_slots.TryRemove(key, out TaskCompletionSource<RingSlice>? slot) && slot.Task.IsCompletedSuccessfully)
                slot.Task.Result.Dispose();
    }
}
