using System.CommandLine;
using FlatLora.Abstractions.Cluster;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora cluster`: silos, their devices, what runs where, and the queue.</summary>
internal sealed class ClusterInfoCommand : ClusterCommand
{
    public ClusterInfoCommand() : base("cluster", "Show silos, devices and the queue")
    {
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        ClusterSnapshot snapshot = await cluster.ClusterAsync(cancellationToken).ConfigureAwait(false);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        { Out = new AnsiConsoleOutput(parseResult.InvocationConfiguration.Output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        var table = new Table().AddColumns("silo", "device", "state", "run");
        foreach (DeviceInfo device in snapshot.Devices)
            table.AddRow(device.Silo, device.Device, device.State.ToString(), device.RunKey ?? "");
        console.Write(table);
        if (snapshot.Projects.Count > 0)
            console.Write(QueueView.Projects(snapshot));
        console.WriteLine($"{snapshot.Silos.Count} silo(s), {snapshot.Devices.Count(d => d.State == DeviceState.Free)} free / " +
                          $"{snapshot.Devices.Count(d => d.State == DeviceState.Busy)} busy / {snapshot.Devices.Count(d => d.State == DeviceState.Down)} down device(s); " +
                          $"{snapshot.Queue.Count} run(s) queued{(snapshot.Queue.Count > 0 ? " (flatlora queue says why)" : "")}");
        // What each silo says about its grain storage: a lost or failing store is the cluster's problem, not one run's.
        foreach (SiloHealthReport health in snapshot.Health.Where(h => h.Status != "healthy"))
            console.WriteLine($"storage on {health.Silo}: {health.Status}: {health.Detail}");
        foreach (SiloHealthReport health in snapshot.Health)
            foreach (string warning in health.Warnings ?? [])
                console.WriteLine($"warning: {health.Silo}: {warning}");
        console.WriteLine($"you are {cluster.Caller.User}@{cluster.Caller.Project} ({cluster.Caller.AuthenticatedBy}" +
                          $"{(cluster.Caller.ClusterAdmin ? ", cluster admin" : "")}{(cluster.Caller.ProjectAdminOf.Count > 0 ? $", admin of {string.Join(", ", cluster.Caller.ProjectAdminOf)}" : "")})");
        return ExitCodes.Success;
    }
}
