using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>A command that talks to a cluster: connects (or starts --local), runs, and disconnects.</summary>
internal abstract class ClusterCommandBase(string name, string description) : FlatloraCommand(name, description)
{
    protected sealed override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        await PrepareAsync(parseResult, cancellationToken).ConfigureAwait(false);
        await using ClusterConnection cluster = await ClusterConnection.ConnectAsync(GlobalOptions.Connection(parseResult), cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(parseResult, cluster, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Work before connecting, such as validating a spec, so bad input never needs a cluster.</summary>
    protected virtual Task PrepareAsync(ParseResult parseResult, CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken);

    /// <summary>"experiment" or "sweep" for an id the cluster knows; a clear error otherwise.</summary>
    protected static async Task<string> KindOfAsync(ClusterConnection cluster, string id)
    {
        IReadOnlyList<RegistryEntry> entries = await ClusterRetry.ReadAsync(() => cluster.Grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync(),
            Console.Error, CancellationToken.None).ConfigureAwait(false);
        return entries.FirstOrDefault(e => e.Id == id)?.Kind
            ?? throw new KeyNotFoundException($"the cluster knows no experiment or sweep '{id}' (see `flatlora status`)");
    }

    public static string NewId(string prefix) => $"{prefix}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";

    public static int ExitCodeFor(RunState state) => state switch
    {
        RunState.Completed or RunState.Stopped => ExitCodes.Success,
        RunState.Cancelled => ExitCodes.Cancelled,
        _ => ExitCodes.Failure,
    };
}
