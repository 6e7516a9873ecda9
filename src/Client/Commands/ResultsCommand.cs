using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora results ID`: per-seed and aggregated results (sweeps: mean ± std per configuration and t-tests).</summary>
internal sealed class ResultsCommand : ClusterCommandBase
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment or sweep id" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "table, json or csv", DefaultValueFactory = _ => "table" };

    public ResultsCommand() : base("results", "Show results of an experiment or sweep")
    {
        FormatOption.AcceptOnlyFromAmong(ResultsView.Formats);
        Arguments.Add(IdArgument);
        Options.Add(FormatOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        string format = parseResult.GetValue(FormatOption)!;
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (await KindOfAsync(cluster, id, parseResult.InvocationConfiguration.Error).ConfigureAwait(false) == RegistryKind.Sweep)
            ResultsView.Write(await ClusterRetry.ReadAsync(cluster.Grains.GetGrain<ISweepGrain>(id).GetResultsAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false), format, output);
        else
            ResultsView.Write(await ClusterRetry.ReadAsync(cluster.Grains.GetGrain<IExperimentGrain>(id).GetResultsAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false), format, output);
        return ExitCodes.Success;
    }
}
