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
        await using ApiSession cluster = await ApiSession.OpenAsync(GlobalOptions.Connection(parseResult), parseResult.InvocationConfiguration.Error, cancellationToken)
            .ConfigureAwait(false);
        return await ExecuteAsync(parseResult, input, cluster, cancellationToken).ConfigureAwait(false);
    }

    protected abstract TInput Prepare(ParseResult parseResult);

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, TInput input, ApiSession cluster, CancellationToken cancellationToken);
}

/// <summary>A command that talks to a cluster and reads no input of its own before connecting.</summary>
internal abstract class ClusterCommandBase(string name, string description) : ClusterCommandBase<ClusterCommandBase.NoInput>(name, description)
{
    internal readonly record struct NoInput;

    protected sealed override NoInput Prepare(ParseResult parseResult) => default;

    protected sealed override Task<int> ExecuteAsync(ParseResult parseResult, NoInput input, ApiSession cluster, CancellationToken cancellationToken) =>
        ExecuteAsync(parseResult, cluster, cancellationToken);

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken);

    public static int ExitCodeFor(RunState state) => state switch
    {
        RunState.Completed or RunState.Stopped => ExitCodes.Success,
        RunState.Cancelled => ExitCodes.Cancelled,
        _ => ExitCodes.Failure,
    };
}
