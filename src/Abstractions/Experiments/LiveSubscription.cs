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
            await UnsubscribeQuietlyAsync(old).ConfigureAwait(false);
    }

    /// <summary>
    /// Unsubscribes, waiting at most a few seconds: on a loaded silo the stream's pub-sub can take longer, and a watcher
    /// that is leaving (Ctrl+C) must not hang on it. A subscription left behind is dropped by the pulling agent once
    /// this client is gone.
    /// </summary>
    public async Task StopAsync()
    {
        if (_handle is null)
            return;
        try
        {
            await _handle.UnsubscribeAsync().WaitAsync(StopWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

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

    // The old subscription is being replaced because it misbehaved: failing to drop it must not end the watch.
    private static async Task UnsubscribeQuietlyAsync(StreamSubscriptionHandle<ProgressEvent> handle)
    {
        try
        {
            await handle.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
        }
    }
}
