using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;
using Grpc.Core;
using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>Follows an experiment or sweep to its end through the API's Watch stream, watching again if the stream breaks (its silo died).</summary>
public static class Watching
{
    /// <summary>
    /// Follows with <paramref name="watch"/> until the run ends. Ctrl+C while following a cluster's run stops following,
    /// not the run: that is said in one line and the result is null. (With --local the run lives in this process and
    /// stops with it.)
    /// </summary>
    public static async Task<RunState?> OrDetachAsync(Func<Task<RunState>> watch, string id, ApiSession cluster, TextWriter error)
    {
        try
        {
            return await watch().ConfigureAwait(false);
        }
        catch (Exception e) when (!cluster.IsLocal && (e is OperationCanceledException || e is RpcException { StatusCode: StatusCode.Cancelled }))
        {
            await error.WriteLineAsync($"detached; `flatlora cancel {id}` stops it").ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Live progress of <paramref name="id"/> (an experiment or a sweep) until it ends; its final state.</summary>
    public static async Task<RunState> FollowAsync(ApiSession cluster, string id, IAnsiConsole console, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                RunState final = await new WatchView(cluster.WatchAsync(id, cancellationToken), id).RunAsync(console, cancellationToken).ConfigureAwait(false);
                if (final.IsFinal())
                    return final;
            }
            catch (RpcException e) when (ApiRetry.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                console.WriteLine($"(progress stream interrupted: {e.Status.Detail}; reconnecting)");
            }
            RunState state = ApiSession.IsSweepId(id)
                ? (await cluster.SweepAsync(id, cancellationToken).ConfigureAwait(false)).State
                : (await cluster.ExperimentAsync(id, cancellationToken).ConfigureAwait(false)).State;
            if (state.IsFinal())
                return state;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }
}
