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
    private volatile CollectiveTarget? _target;

    /// <summary>The buffer of the collective in progress, where all-gather slices may be read in place.</summary>
    private sealed record CollectiveTarget(long Step, int Bucket, Memory<float> Buffer, RingLayout Layout);
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

    /// <summary>Announces the collective in progress: from now on its all-gather slices may land straight in <paramref name="buffer"/>.</summary>
    internal void BeginCollective(long step, int bucket, Memory<float> buffer, RingLayout layout) => _target = new CollectiveTarget(step, bucket, buffer, layout);

    internal void EndCollective() => _target = null;

    /// <summary>
    /// Where an all-gather slice of the collective in progress belongs, if it is one and its length is the one that
    /// belongs there; any other slice is staged in a pooled array (and a wrong length refused by the ring).
    /// </summary>
    internal bool TryPlace(FrameHeader header, out Memory<float> destination)
    {
        destination = default;
        if (_target is not { } target || header.Key.Step != target.Step || header.Key.Bucket != target.Bucket
            || header.Key.Hop < WorldSize - 1 || header.Key.Hop >= 2 * (WorldSize - 1) || header.Count == 0)
            return false;
        RingLayout layout = target.Layout;
        if (layout.Region(layout.ReceivedChunk(Rank, header.Key.Hop), header.Key.Slice) is not (int start, int length) || length != header.Count)
            return false;
        destination = target.Buffer.Slice(start, length);
        return true;
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
            if (!slot.Task.IsCompleted && !WaitWithoutSpinning(slot.Task, timeout, cancellationToken))
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

    // Task.Wait spins before it blocks; with ranks' receive, reduce and send threads sharing a few cores the spinning
    // takes the very cycles the sender needs (bench allreduce W=4 on 2 cores).
    private static bool WaitWithoutSpinning(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        int signalled = WaitHandle.WaitAny([((IAsyncResult)task).AsyncWaitHandle, cancellationToken.WaitHandle], timeout);
        cancellationToken.ThrowIfCancellationRequested();
        return signalled != WaitHandle.WaitTimeout;
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
