using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora cancel ID`: stop an experiment or sweep; runs stop at their next micro-batch, checkpoints kept.</summary>
internal sealed class CancelCommand : ClusterCommandBase
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment or sweep id" };

    public CancelCommand() : base("cancel", "Cancel an experiment or sweep")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        if (await KindOfAsync(cluster, id, parseResult.InvocationConfiguration.Error).ConfigureAwait(false) == RegistryKind.Sweep)
            await cluster.Grains.GetGrain<ISweepGrain>(id).CancelAsync().ConfigureAwait(false);
        else
            await cluster.Grains.GetGrain<IExperimentGrain>(id).CancelAsync().ConfigureAwait(false);
        await parseResult.InvocationConfiguration.Output.WriteLineAsync($"{id}: cancellation requested").ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
