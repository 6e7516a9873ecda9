using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora watch ID`: live progress of an experiment or sweep until it ends.</summary>
internal sealed class WatchCommand : ClusterCommand
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment or sweep id" };

    public WatchCommand() : base("watch", "Follow an experiment or sweep live")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        if (await Watching.OrDetachAsync(() => Watching.FollowAsync(cluster, id, console, cancellationToken),
                id, cluster, parseResult.InvocationConfiguration.Error).ConfigureAwait(false) is not RunState final)
            return ExitCodes.Cancelled;
        await parseResult.InvocationConfiguration.Output.WriteLineAsync($"{id}: {final}").ConfigureAwait(false);
        return ExitCodeFor(final);
    }
}
