using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>Follows an experiment or sweep to its end, re-subscribing if the stream breaks (e.g. its silo moved).</summary>
public static class Watching
{
    /// <summary>
    /// Follows with <paramref name="watch"/> until the run ends. Ctrl+C while following a cluster's run stops following,
    /// not the run: that is said in one line and the result is null. (With --local the run lives in this process and
    /// stops with it.)
    /// </summary>
    public static async Task<RunState?> OrDetachAsync(Func<Task<RunState>> watch, string id, ClusterConnection cluster, TextWriter error)
    {
        try
        {
            return await watch().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cluster.IsLocal)
        {
            await error.WriteLineAsync($"detached; `flatlora cancel {id}` stops it").ConfigureAwait(false);
            return null;
        }
    }

    public static Task<RunState> ExperimentAsync(ClusterConnection cluster, string id, IAnsiConsole console, CancellationToken cancellationToken) =>
        FollowAsync(id, () => ProgressWatch.ExperimentAsync(cluster.Client, id, cancellationToken),
            async () => (await cluster.Grains.GetGrain<IExperimentGrain>(id).GetStatusAsync().ConfigureAwait(false)).State, console, cancellationToken);

    public static Task<RunState> SweepAsync(ClusterConnection cluster, string id, IAnsiConsole console, CancellationToken cancellationToken) =>
        FollowAsync(id, () => ProgressWatch.SweepAsync(cluster.Client, id, cancellationToken),
            async () => (await cluster.Grains.GetGrain<ISweepGrain>(id).GetStatusAsync().ConfigureAwait(false)).State, console, cancellationToken);

    private static async Task<RunState> FollowAsync(string id, Func<IAsyncEnumerable<ProgressEvent>> subscribe, Func<Task<RunState>> poll,
        IAnsiConsole console, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                RunState final = await new WatchView(subscribe(), id).RunAsync(console, cancellationToken).ConfigureAwait(false);
                if (final.IsFinal())
                    return final;
            }
            catch (Exception e) when (e is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                console.WriteLine($"(progress stream interrupted: {e.GetBaseException().Message}; reconnecting)");
            }
            RunState state = await ClusterRetry.ReadAsync(poll, console.Profile.Out.Writer, cancellationToken).ConfigureAwait(false);
            if (state.IsFinal())
                return state;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }
}
