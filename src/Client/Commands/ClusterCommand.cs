using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>A command that talks to a cluster and reads no input of its own before connecting.</summary>
internal abstract class ClusterCommand(string name, string description) : InputFirstClusterCommand<ClusterCommand.NoInput>(name, description)
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
