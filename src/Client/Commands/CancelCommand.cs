using System.CommandLine;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora cancel ID`: stop an experiment or sweep; runs stop at their next micro-batch, checkpoints kept.</summary>
internal sealed class CancelCommand : ClusterCommand
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment or sweep id" };

    public CancelCommand() : base("cancel", "Cancel an experiment or sweep")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        await cluster.CancelAsync(id, cancellationToken).ConfigureAwait(false);
        await parseResult.InvocationConfiguration.Output.WriteLineAsync($"{id}: cancellation requested").ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
