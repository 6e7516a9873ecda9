using System.CommandLine;
using System.Text.Json;
using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora submit FILE`: check a spec's values here, then send its text to the cluster's API as an experiment (one
/// run per seed), owned by the caller.
/// </summary>
internal sealed class SubmitCommand : InputFirstClusterCommand<SubmitCommand.Submission>
{
    private static readonly Argument<FileInfo> FileArgument = new("file") { Description = "Spec file (YAML or JSON); experiment.seeds picks the seeds" };
    private static readonly Option<string[]> SetOption = new("--set") { Description = "Override a spec field (repeatable)" };
    private static readonly Option<bool> WatchOption = new("--watch", "-w") { Description = "Follow progress until the experiment ends (always on with --local)" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "Results format: table, json or csv", DefaultValueFactory = _ => "table" };

    public SubmitCommand() : base("submit", "Submit an experiment to the cluster")
    {
        FormatOption.AcceptOnlyFromAmong(ResultsView.Formats);
        Arguments.Add(FileArgument);
        Options.Add(SetOption);
        Options.Add(WatchOption);
        Options.Add(FormatOption);
    }

    /// <summary>The spec file's text and overrides as they go to the cluster (which reads them with the same checks).</summary>
    internal sealed record Submission(string Text, string Name, string[] Overrides, TrainSpec Spec);

    protected override Submission Prepare(ParseResult parseResult)
    {
        string path = parseResult.GetValue(FileArgument)!.FullName;
        string[] overrides = parseResult.GetValue(SetOption) ?? [];
        TrainSpec spec = SpecLoader.LoadFile<TrainSpec>(path, overrides);
        // Every bad value reported here, without a cluster. Paths are the cluster's to check as the spec enters: a relative
        // path names a file under the silo's root, not under this working directory.
        ValidTrainSpec.CheckValues(spec);
        return new Submission(File.ReadAllText(path), Path.GetFileName(path), overrides, spec);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, Submission submission, ApiSession cluster, CancellationToken cancellationToken)
    {
        ExperimentStatus status = await cluster.SubmitExperimentAsync(submission.Text, submission.Name, submission.Overrides, cancellationToken).ConfigureAwait(false);
        string id = status.Id;
        TextWriter output = parseResult.InvocationConfiguration.Output;
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        if (!parseResult.GetValue(WatchOption) && !cluster.IsLocal)
        {
            if (parseResult.GetValue(FormatOption) == "json")
                await output.WriteLineAsync(JsonSerializer.Serialize(new { id, state = status.State.ToString(), seeds = status.Seeds.Select(s => s.Seed) })).ConfigureAwait(false);
            else
                await output.WriteLineAsync(id).ConfigureAwait(false);
            console.WriteLine($"Submitted {id}: {status.Seeds.Count} seed(s), {status.State}. Follow it with `flatlora watch {id}`.");
            return ExitCodes.Success;
        }
        console.WriteLine($"Submitted {id} ({status.Seeds.Count} seed(s)).");
        if (await Watching.OrDetachAsync(() => Watching.FollowAsync(cluster, id, console, cancellationToken), id, cluster,
                parseResult.InvocationConfiguration.Error).ConfigureAwait(false) is not RunState final)
            return ExitCodes.Cancelled;
        ResultsView.Write(await cluster.ExperimentResultsAsync(id, cancellationToken).ConfigureAwait(false), parseResult.GetValue(FormatOption)!, output);
        return ClusterCommand.ExitCodeFor(final);
    }
}
