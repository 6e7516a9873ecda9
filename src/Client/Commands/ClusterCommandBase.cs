using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>
/// A command that reads and checks its input (a spec, a sweep) before it connects, so bad input never needs a cluster,
/// then connects (or starts --local), runs on the cluster with that input, and disconnects. The input is passed
/// along, never kept in a field: a command object is parsed and invoked many times.
/// </summary>
internal abstract class ClusterCommandBase<TInput>(string name, string description) : FlatloraCommand(name, description)
{
    protected sealed override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        TInput input = Prepare(parseResult);
        await using ClusterConnection cluster = await ClusterConnection.ConnectAsync(GlobalOptions.Connection(parseResult), cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(parseResult, input, cluster, cancellationToken).ConfigureAwait(false);
    }

    protected abstract TInput Prepare(ParseResult parseResult);

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, TInput input, ClusterConnection cluster, CancellationToken cancellationToken);
}

/// <summary>A command that talks to a cluster and reads no input of its own before connecting.</summary>
internal abstract class ClusterCommandBase(string name, string description) : ClusterCommandBase<ClusterCommandBase.NoInput>(name, description)
{
    internal readonly record struct NoInput;

    protected sealed override NoInput Prepare(ParseResult parseResult) => default;

    protected sealed override Task<int> ExecuteAsync(ParseResult parseResult, NoInput input, ClusterConnection cluster, CancellationToken cancellationToken) =>
        ExecuteAsync(parseResult, cluster, cancellationToken);

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken);

    /// <summary>Whether an id the cluster knows is an experiment or a sweep; a clear error otherwise.</summary>
    protected static async Task<RegistryKind> KindOfAsync(ClusterConnection cluster, string id, TextWriter notices)
    {
        IReadOnlyList<RegistryEntry> entries = await ClusterRetry.ReadAsync(() => cluster.Grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync(),
            notices, CancellationToken.None).ConfigureAwait(false);
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
