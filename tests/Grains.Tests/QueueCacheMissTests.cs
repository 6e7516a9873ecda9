using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace FlatLora.Grains.Tests;

/// <summary>
/// Why a new `watch` on Azure-queue streams could hear nothing (the cause, in Orleans' SimpleQueueCache, which that
/// provider uses). A cursor with nothing to read waits for a position. When another stream's event takes that position
/// and is purged before the cursor's own stream has an event (nothing pins it), refreshing the cursor throws
/// QueueCacheMissException inside the pulling agent's queue read, and it throws again on every later read: that
/// subscriber never hears another event. The silo logs it as "Exception while retrying the 0th time reading from queue".
/// ProgressWatch works around it by subscribing afresh (LiveSubscription); this test says when Orleans no longer needs it.
/// </summary>
public sealed class QueueCacheMissTests
{
    private static readonly StreamId Watched = StreamId.Create("progress", "exp-a"), Other = StreamId.Create("progress", "exp-b");

    [Fact]
    public void A_cursor_waiting_for_a_purged_position_fails_every_refresh()
    {
        IQueueCache cache = new SimpleQueueCache(10, NullLogger.Instance);
        cache.AddToCache([Batch(Other, 10)]);
        IQueueCacheCursor cursor = cache.TryGetCacheCursor(Watched, new EventSequenceTokenV2(12)).Cursor!;   // waits for 12
        cache.AddToCache([Batch(Other, 11), Batch(Other, 12), Batch(Other, 13)]);
        Assert.True(cache.TryPurgeFromCache(out IList<IBatchContainer>? purged));   // nothing pins them
        Assert.Equal(4, purged.Count);
        cache.AddToCache([Batch(Watched, 14)]);

        // If this stops throwing, Orleans fixed it, and the watcher's renewal is no longer needed.
        Assert.Throws<QueueCacheMissException>(() => cursor.Refresh(new EventSequenceTokenV2(14)));
        cache.AddToCache([Batch(Watched, 15)]);
        Assert.Throws<QueueCacheMissException>(() => cursor.Refresh(new EventSequenceTokenV2(15)));
    }

    private static TestBatch Batch(StreamId stream, long sequence) => new(stream, new EventSequenceTokenV2(sequence));

    private sealed record TestBatch(StreamId StreamId, StreamSequenceToken SequenceToken) : IBatchContainer
    {
        public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() => [];

        public bool ImportRequestContext() => false;
    }
}
