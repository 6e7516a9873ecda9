using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora sweep FILE`: expand and validate a sweep here, then run it on the cluster.</summary>
internal sealed class SweepCommand : ClusterCommandBase<SweepRequest>
{
    private static readonly Argument<FileInfo> FileArgument = new("file") { Description = "Sweep file (YAML or JSON)" };
    private static readonly Option<bool> WatchOption = new("--watch", "-w") { Description = "Follow progress until the sweep ends (always on with --local)" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "Results format: table, json or csv", DefaultValueFactory = _ => "table" };

    public SweepCommand() : base("sweep", "Run a hyperparameter sweep (grid / random search × seeds)")
    {
        FormatOption.AcceptOnlyFromAmong(ResultsView.Formats);
        Arguments.Add(FileArgument);
        Options.Add(WatchOption);
        Options.Add(FormatOption);
    }

    protected override SweepRequest Prepare(ParseResult parseResult)
    {
        (SweepSpec sweep, TrainSpec baseSpec) = SweepPlanner.Load(parseResult.GetValue(FileArgument)!.FullName);
        SweepPlanner.Expand(sweep, baseSpec, checkFiles: false);   // every configuration's values valid before anything is created; the cluster checks its files
        return new SweepRequest(sweep, baseSpec);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, SweepRequest request, ClusterConnection cluster, CancellationToken cancellationToken)
    {
        string id = ClusterCommandBase.NewId("sweep");
        ISweepGrain sweep = cluster.Grains.GetGrain<ISweepGrain>(id);
        SweepStatus status = await sweep.SubmitAsync(request).ConfigureAwait(false);
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        console.WriteLine($"Submitted sweep {id}: {status.Configurations.Count} configuration(s) × {request.Base.ExperimentSeeds.Count} seed(s).");
        if (!parseResult.GetValue(WatchOption) && !cluster.IsLocal)
        {
            await parseResult.InvocationConfiguration.Output.WriteLineAsync(id).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        if (await Watching.OrDetachAsync(() => Watching.SweepAsync(cluster, id, console, cancellationToken), id, cluster,
                parseResult.InvocationConfiguration.Error).ConfigureAwait(false) is not RunState final)
            return ExitCodes.Cancelled;
        ResultsView.Write(await ClusterRetry.ReadAsync(sweep.GetResultsAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false), parseResult.GetValue(FormatOption)!, parseResult.InvocationConfiguration.Output);
        return ClusterCommandBase.ExitCodeFor(final);
    }
}
