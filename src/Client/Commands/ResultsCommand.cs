using System.CommandLine;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora results ID`: per-seed and aggregated results (sweeps: mean ± std per configuration and t-tests).</summary>
internal sealed class ResultsCommand : ClusterCommand
{
    private static readonly Argument<string> IdArgument = new("id") { Description = "Experiment or sweep id" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "table, json or csv", DefaultValueFactory = _ => "table" };

    public ResultsCommand() : base("results", "Show results of an experiment or sweep")
    {
        FormatOption.AcceptOnlyFromAmong(ResultsView.Formats);
        Arguments.Add(IdArgument);
        Options.Add(FormatOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        string id = parseResult.GetValue(IdArgument)!;
        string format = parseResult.GetValue(FormatOption)!;
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (ApiSession.IsSweepId(id))
            ResultsView.Write(await cluster.SweepResultsAsync(id, cancellationToken).ConfigureAwait(false), format, output);
        else
            ResultsView.Write(await cluster.ExperimentResultsAsync(id, cancellationToken).ConfigureAwait(false), format, output);
        return ExitCodes.Success;
    }
}
