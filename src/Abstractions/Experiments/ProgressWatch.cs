using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FlatLora.Abstractions.Sweeps;
using Orleans.Streams;

namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// A client's view of an experiment's or sweep's progress: it subscribes to the progress stream, then reads the current
/// state (so nothing between the two is missed), and yields that snapshot followed by live events until the watched
/// experiment or sweep ends. Streams may drop events (a silo died): when nothing arrives for a while the state is read
/// again, so a lost final event never leaves a watcher waiting.
/// IAsyncEnumerable stays here, at the edge, because a render loop consuming one sequence is the simplest consumer.
/// </summary>
public static class ProgressWatch
{
    private static readonly TimeSpan QuietPoll = TimeSpan.FromSeconds(5);

    // Steps done while nothing was heard for this long: the subscription is deaf. Longer than a loaded queue's delivery
    // delay, so an event merely in transit is not taken for deafness.
    private static readonly TimeSpan DeafAfter = TimeSpan.FromSeconds(15);

    public static IAsyncEnumerable<ProgressEvent> ExperimentAsync(IClusterClient client, string id, CancellationToken cancellationToken = default)
    {
        async Task<(List<ProgressEvent>, RunState)> ReadAsync()
        {
            ExperimentStatus status = await client.GetGrain<IExperimentGrain>(id).GetStatusAsync().ConfigureAwait(false);
            return ([.. status.Seeds.Select(seed => SeedEvent(id, seed)), RootEvent(id, status.State, status.Error)], status.State);
        }
        return WatchAsync(client, ProgressStreams.Experiment(id), id, ReadAsync, cancellationToken);
    }

    public static IAsyncEnumerable<ProgressEvent> SweepAsync(IClusterClient client, string id, CancellationToken cancellationToken = default)
    {
        async Task<(List<ProgressEvent>, RunState)> ReadAsync()
        {
            SweepStatus status = await client.GetGrain<ISweepGrain>(id).GetStatusAsync().ConfigureAwait(false);
            return ([.. status.Configurations.Select(c => ConfigurationEvent(id, c)), RootEvent(id, status.State, null)], status.State);
        }
        return WatchAsync(client, ProgressStreams.Sweep(id), id, ReadAsync, cancellationToken);
    }

    private static async IAsyncEnumerable<ProgressEvent> WatchAsync(IClusterClient client, StreamId streamId, string rootId,
        Func<Task<(List<ProgressEvent> Snapshot, RunState State)>> read, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = Channel.CreateBounded<ProgressEvent>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest });
        IAsyncStream<ProgressEvent> stream = client.GetStreamProvider(ProgressStreams.Provider).GetStream<ProgressEvent>(streamId);
        var subscription = new LiveSubscription(stream, events.Writer);
        await subscription.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            (List<ProgressEvent> snapshot, RunState state) = await read().WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (ProgressEvent e in snapshot)
                yield return e;
            if (state.IsFinal())
                yield break;
            long stepsRead = StepsDone(snapshot);
            DateTime heardUtc = DateTime.UtcNow;
            while (true)
            {
                ProgressEvent? next = await NextAsync(events.Reader, cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    // Quiet for a while: the end may have been published and lost. The state says.
                    (List<ProgressEvent> now, RunState current) = await read().WaitAsync(cancellationToken).ConfigureAwait(false);
                    if (current.IsFinal())
                    {
                        foreach (ProgressEvent e in now)
                            yield return e;
                        yield break;
                    }
                    // The provider reported an error, or the run moved on while nothing was heard for a while: this
                    // subscription is deaf (Azure-queue streams, see LiveSubscription). Subscribe afresh, and show the
                    // state read meanwhile.
                    long steps = StepsDone(now);
                    if (subscription.Faulted || (steps > stepsRead && DateTime.UtcNow - heardUtc > DeafAfter))
                    {
                        await subscription.RenewAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                        heardUtc = DateTime.UtcNow;
                        foreach (ProgressEvent e in now)
                            yield return e;
                    }
                    stepsRead = steps;
                    continue;
                }
                heardUtc = DateTime.UtcNow;
                yield return next;
                if (next.Seed < 0 && next.ExperimentId == rootId && next.State.IsFinal())
                    yield break;
            }
        }
        finally
        {
            await subscription.StopAsync().ConfigureAwait(false);
        }
    }

    private static long StepsDone(List<ProgressEvent> snapshot) => snapshot.Sum(e => e.Step);

    private static async Task<ProgressEvent?> NextAsync(ChannelReader<ProgressEvent> reader, CancellationToken cancellationToken)
    {
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(QuietPoll);
        try
        {
            return await reader.ReadAsync(quiet.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The state of one seed as a progress event (what a watcher shows before live events arrive).</summary>
    public static ProgressEvent SeedEvent(string experimentId, SeedRunStatus seed) => new()
    {
        ExperimentId = experimentId,
        Seed = seed.Seed,
        Kind = ProgressKind.State,
        State = seed.State,
        Step = seed.Step,
        TotalSteps = seed.TotalSteps,
        Figures = seed.Latest,
        Message = seed.Error,
    };

    /// <summary>The state of a whole experiment or sweep (seed −1).</summary>
    public static ProgressEvent RootEvent(string id, RunState state, string? message) => new()
    {
        ExperimentId = id,
        Seed = ExperimentLevel,
        Kind = ProgressKind.State,
        State = state,
        Message = message,
    };

    /// <summary>A sweep configuration's state; its message is the configuration's label.</summary>
    public static ProgressEvent ConfigurationEvent(string sweepId, SweepConfigurationStatus c) => new()
    {
        ExperimentId = c.ExperimentId ?? $"{sweepId}-c{c.Index:D3}",
        Seed = ExperimentLevel,
        Kind = ProgressKind.State,
        State = c.State,
        Message = c.Label,
    };

    /// <summary>The seed of events about an experiment or sweep as a whole.</summary>
    public const long ExperimentLevel = -1;
}
