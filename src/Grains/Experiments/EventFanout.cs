using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// Live progress for a grain's watchers (IAsyncEnumerable grain methods). Each watcher gets a bounded channel; a slow
/// watcher loses its oldest events rather than slowing the grain.
/// </summary>
internal sealed class EventFanout
{
    private readonly List<Channel<ProgressEvent>> _watchers = [];

    public void Publish(ProgressEvent progress)
    {
        foreach (Channel<ProgressEvent> watcher in _watchers)
            watcher.Writer.TryWrite(progress);
    }

    public void Complete()
    {
        foreach (Channel<ProgressEvent> watcher in _watchers)
            watcher.Writer.TryComplete();
    }

    /// <summary>The snapshot first, then live events until <see cref="Complete"/> (or at once if already final).</summary>
    public async IAsyncEnumerable<ProgressEvent> Subscribe(IReadOnlyList<ProgressEvent> snapshot, bool final,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<ProgressEvent>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
        _watchers.Add(channel);
        try
        {
            foreach (ProgressEvent progress in snapshot)
                yield return progress;
            if (final)
                yield break;
            await foreach (ProgressEvent progress in channel.Reader.ReadAllAsync(cancellationToken))
                yield return progress;
        }
        finally
        {
            _watchers.Remove(channel);
        }
    }
}
