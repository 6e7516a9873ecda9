using FlatLora.Abstractions.Cluster;
using System.CommandLine;
using System.Globalization;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora status [ID]`: the caller's experiments and sweeps (with --all, every one it may see), or one in detail.</summary>
internal sealed class StatusCommand : ClusterCommand
{
    private static readonly Argument<string?> IdArgument = new("id") { Description = "Experiment or sweep id (all when left out)", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<bool> AllOption = new("--all") { Description = "Every run you may see (your project's, or with admin rights everyone's), not only yours" };

    public StatusCommand() : base("status", "Show experiments and sweeps")
    {
        Arguments.Add(IdArgument);
        Options.Add(AllOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(IdArgument) is string id)
        {
            if (ApiSession.IsSweepId(id))
                ResultsView.Write(await cluster.SweepResultsAsync(id, cancellationToken).ConfigureAwait(false), "table", output);
            else
                ResultsView.Write(await cluster.ExperimentResultsAsync(id, cancellationToken).ConfigureAwait(false), "table", output);
            return ExitCodes.Success;
        }
        bool all = parseResult.GetValue(AllOption);
        IReadOnlyList<RegistryEntry> entries = await cluster.ListAsync(all, cancellationToken).ConfigureAwait(false);
        var table = new Table().AddColumns("id", "kind", "name", "owner", "state", "progress", "created (UTC)");
        foreach (RegistryEntry entry in entries)
        {
            (RunState state, double progress) = entry.Kind == RegistryKind.Sweep
                ? SweepProgress(await cluster.SweepAsync(entry.Id, cancellationToken).ConfigureAwait(false))
                : ExperimentProgress(await cluster.ExperimentAsync(entry.Id, cancellationToken).ConfigureAwait(false));
            table.AddRow(entry.Id, entry.Kind.ToString().ToLowerInvariant(), Markup.Escape(entry.Name ?? ""), Markup.Escape(entry.OwnedBy.ToString()), state.ToString(),
                progress.ToString("P0", CultureInfo.InvariantCulture), entry.CreatedUtc.ToString("u", CultureInfo.InvariantCulture));
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        if (entries.Count == 0)
            console.WriteLine(all ? "No experiments or sweeps you may see." : $"No experiments or sweeps of {cluster.Caller.User}@{cluster.Caller.Project} (--all shows what else you may see).");
        else
            console.Write(table);
        ClusterSnapshot snapshot = await cluster.ClusterAsync(cancellationToken).ConfigureAwait(false);
        foreach (SiloHealthReport health in snapshot.Health.Where(h => h.Status != "healthy"))
            await parseResult.InvocationConfiguration.Error.WriteLineAsync($"warning: storage on {health.Silo} is {health.Status}: {health.Detail}").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static (RunState, double) ExperimentProgress(ExperimentStatus status) => (status.State, status.Progress);

    private static (RunState, double) SweepProgress(SweepStatus status) =>
        (status.State, status.Configurations.Count == 0 ? 0 : (double)status.Configurations.Count(c => c.State.IsFinal()) / status.Configurations.Count);
}
