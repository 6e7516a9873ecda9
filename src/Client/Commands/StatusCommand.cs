using FlatLora.Abstractions.Cluster;
using System.CommandLine;
using System.Globalization;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora status [ID]`: every experiment and sweep, or one in detail.</summary>
internal sealed class StatusCommand : ClusterCommandBase
{
    private static readonly Argument<string?> IdArgument = new("id") { Description = "Experiment or sweep id (all when left out)", Arity = ArgumentArity.ZeroOrOne };

    public StatusCommand() : base("status", "Show experiments and sweeps")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ClusterConnection cluster, CancellationToken cancellationToken)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(IdArgument) is string id)
        {
            if (await KindOfAsync(cluster, id, parseResult.InvocationConfiguration.Error).ConfigureAwait(false) == RegistryKind.Sweep)
                ResultsView.Write(await ClusterRetry.ReadAsync(cluster.Grains.GetGrain<ISweepGrain>(id).GetResultsAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false), "table", output);
            else
                ResultsView.Write(await ClusterRetry.ReadAsync(cluster.Grains.GetGrain<IExperimentGrain>(id).GetResultsAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false), "table", output);
            return ExitCodes.Success;
        }
        IReadOnlyList<RegistryEntry> entries = await ClusterRetry.ReadAsync(cluster.Grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        var table = new Table().AddColumns("id", "kind", "name", "state", "progress", "created (UTC)");
        foreach (RegistryEntry entry in entries)
        {
            (RunState state, double progress) = entry.Kind == RegistryKind.Sweep
                ? await SweepProgressAsync(cluster, entry.Id).ConfigureAwait(false)
                : await ExperimentProgressAsync(cluster, entry.Id).ConfigureAwait(false);
            table.AddRow(entry.Id, entry.Kind.ToString().ToLowerInvariant(), Markup.Escape(entry.Name ?? ""), state.ToString(),
                progress.ToString("P0", CultureInfo.InvariantCulture), entry.CreatedUtc.ToString("u", CultureInfo.InvariantCulture));
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        if (entries.Count == 0)
            console.WriteLine("No experiments or sweeps yet.");
        else
            console.Write(table);
        ClusterSnapshot snapshot = await cluster.Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync().ConfigureAwait(false);
        foreach (SiloHealthReport health in snapshot.Health.Where(h => h.Status != "healthy"))
            await parseResult.InvocationConfiguration.Error.WriteLineAsync($"warning: storage on {health.Silo} is {health.Status}: {health.Detail}").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async Task<(RunState, double)> ExperimentProgressAsync(ClusterConnection cluster, string id)
    {
        ExperimentStatus status = await cluster.Grains.GetGrain<IExperimentGrain>(id).GetStatusAsync().ConfigureAwait(false);
        return (status.State, status.Progress);
    }

    private static async Task<(RunState, double)> SweepProgressAsync(ClusterConnection cluster, string id)
    {
        SweepStatus status = await cluster.Grains.GetGrain<ISweepGrain>(id).GetStatusAsync().ConfigureAwait(false);
        double done = status.Configurations.Count == 0 ? 0 : (double)status.Configurations.Count(c => c.State.IsFinal()) / status.Configurations.Count;
        return (status.State, done);
    }
}
