using System.CommandLine;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>
/// A command that reads and checks its input (a spec, a sweep) before it connects, so bad input never needs a cluster,
/// then connects (or starts --local), runs on the cluster with that input, and disconnects. The input is passed
/// along, never kept in a field: a command object is parsed and invoked many times.
/// </summary>
internal abstract class InputFirstClusterCommand<TInput>(string name, string description) : FlatloraCommand(name, description)
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
