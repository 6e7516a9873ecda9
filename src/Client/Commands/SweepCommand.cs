using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora sweep FILE`: expand and check a sweep here, then send it, with its base spec inline, to the cluster's API.</summary>
internal sealed class SweepCommand : InputFirstClusterCommand<SweepCommand.Submission>
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

    /// <summary>The sweep with its base spec inline (the cluster cannot read this machine's files), and the file's name.</summary>
    internal sealed record Submission(SweepSpec Sweep, TrainSpec Base, string Name);

    protected override Submission Prepare(ParseResult parseResult)
    {
        string path = parseResult.GetValue(FileArgument)!.FullName;
        (SweepSpec sweep, TrainSpec baseSpec) = SweepPlanner.Load(path);
        SweepPlanner.Expand(sweep, baseSpec, checkFiles: false);   // every configuration's values valid before anything is created; the cluster checks its files
        return new Submission(sweep with { Spec = baseSpec, Base = null }, baseSpec, Path.GetFileName(path));
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, Submission request, ApiSession cluster, CancellationToken cancellationToken)
    {
        SweepStatus status = await cluster.SubmitSweepAsync(request.Sweep, request.Name, cancellationToken).ConfigureAwait(false);
        string id = status.Id;
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        console.WriteLine($"Submitted sweep {id}: {status.Configurations.Count} configuration(s) × {request.Base.ExperimentSeeds.Count} seed(s).");
        if (!parseResult.GetValue(WatchOption) && !cluster.IsLocal)
        {
            await parseResult.InvocationConfiguration.Output.WriteLineAsync(id).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        if (await Watching.OrDetachAsync(() => Watching.FollowAsync(cluster, id, console, cancellationToken), id, cluster,
                parseResult.InvocationConfiguration.Error).ConfigureAwait(false) is not RunState final)
            return ExitCodes.Cancelled;
        ResultsView.Write(await cluster.SweepResultsAsync(id, cancellationToken).ConfigureAwait(false), parseResult.GetValue(FormatOption)!, parseResult.InvocationConfiguration.Output);
        return ClusterCommand.ExitCodeFor(final);
    }
}
