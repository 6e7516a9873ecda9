using System.Threading.Channels;
using Orleans.Streams;

namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// A watcher's subscription to a progress stream, which it can renew: events go to <paramref name="events"/>, and an
/// error the stream provider reports marks it faulted. Renewal exists for Orleans' SimpleQueueCache (Azure-queue
/// streams): a subscription whose cursor waits for a position that is purged before its stream's next event never
/// hears again (QueueCacheMissTests shows it); a fresh subscription gets a fresh cursor.
/// </summary>
internal sealed class LiveSubscription(IAsyncStream<ProgressEvent> stream, ChannelWriter<ProgressEvent> events)
{
    private StreamSubscriptionHandle<ProgressEvent>? _handle;
    private volatile bool _faulted;

    public bool Faulted => _faulted;

    public async Task StartAsync() => _handle = await SubscribeAsync().ConfigureAwait(false);

    /// <summary>Subscribes afresh, then drops the old subscription, so no moment passes with neither.</summary>
    public async Task RenewAsync()
    {
        StreamSubscriptionHandle<ProgressEvent>? old = _handle;
        _faulted = false;
        _handle = await SubscribeAsync().ConfigureAwait(false);
        if (old is not null)
            await UnsubscribeAsync(old).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_handle is not null)
            await UnsubscribeAsync(_handle).ConfigureAwait(false);
    }

    private Task<StreamSubscriptionHandle<ProgressEvent>> SubscribeAsync() => stream.SubscribeAsync(
        (e, _) =>
        {
            events.TryWrite(e);
            return Task.CompletedTask;
        },
        _ =>
        {
            _faulted = true;
            return Task.CompletedTask;
        });

    /// <summary>
    /// Unsubscribes, waiting at most a few seconds, and never fails: on a loaded silo the stream's pub-sub can take
    /// longer, and a watcher that renews or leaves (Ctrl+C) must not hang or end on it. A subscription left behind is
    /// dropped by the pulling agent once this client is gone.
    /// </summary>
    private static async Task UnsubscribeAsync(StreamSubscriptionHandle<ProgressEvent> handle)
    {
        try
        {
            await handle.UnsubscribeAsync().WaitAsync(UnsubscribeWait).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
        }
    }

    private static readonly TimeSpan UnsubscribeWait = TimeSpan.FromSeconds(5);
}
