using System.Collections.Concurrent;

namespace FlatLora.Collectives;

/// <summary>
/// The ring's sending side: one thread per rank that writes queued slices to the next rank in order, while the
/// ring's own thread receives and reduces the following ones. A failed send faults the rank's mailbox, so the ring
/// stops waiting at once and reports the unreachable peer.
/// </summary>
internal sealed class SendPump : IDisposable
{
    private readonly BlockingCollection<Item> _queue = new();
    private readonly IRingTransport _transport;
    private readonly RingMailbox _mailbox;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private volatile Exception? _error;

    private readonly record struct Item(FrameHeader Header, ReadOnlyMemory<float> Values, ManualResetEventSlim? Flushed);

    public SendPump(IRingTransport transport, RingMailbox mailbox)
    {
        _transport = transport;
        _mailbox = mailbox;
        _thread = new Thread(Run) { IsBackground = true, Name = $"ring-send rank {mailbox.Rank}" };
        _thread.Start();
    }

    public Exception? Error => _error;

    /// <summary>Queues a slice; <paramref name="values"/> must stay untouched until the slice is sent (the ring's data flow sees to that).</summary>
    public void Enqueue(FrameHeader header, ReadOnlyMemory<float> values) => _queue.Add(new Item(header, values, null));

    /// <summary>Waits until everything queued so far is sent; rethrows a send failure.</summary>
    public void Flush(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var flushed = new ManualResetEventSlim();
        _queue.Add(new Item(default, default, flushed), CancellationToken.None);
        if (!flushed.Wait(timeout, cancellationToken))
            throw new CollectiveTimeoutException($"rank {_mailbox.Rank} of {_mailbox.RunKey}: sending to the next rank did not finish within {timeout.TotalSeconds:F0} s");
        if (_error is { } error)
            throw error;
    }

    private void Run()
    {
        try
        {
            foreach (Item item in _queue.GetConsumingEnumerable(_stop.Token))
            {
                if (item.Flushed is { } flushed)
                {
                    SetQuietly(flushed);
                    continue;
                }
                if (_error is not null)
                    continue;   // drain: the attempt has failed, nothing more goes out
                try
                {
                    _transport.Send(item.Header, item.Values.Span, _stop.Token);
                }
                catch (Exception e)
                {
                    _error = e;
                    _mailbox.Fault(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // A flush that gave up waiting has disposed its event already.
    private static void SetQuietly(ManualResetEventSlim flushed)
    {
        try
        {
            flushed.Set();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _transport.Abort();
        _queue.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
