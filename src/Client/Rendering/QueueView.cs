using System.Globalization;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Spec;
using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>The scheduler's queue and each project's devices, as `flatlora queue` and `flatlora cluster` print them.</summary>
internal static class QueueView
{
    public static Table Waiting(ClusterSnapshot snapshot, DateTime now)
    {
        var table = new Table().AddColumns("#", "run", "owner", "project", "priority", "devices", "waited", "why it waits");
        foreach (QueuedRun q in snapshot.Waiting)
        {
            table.AddRow(q.Position.ToString(CultureInfo.InvariantCulture), Markup.Escape(q.Ask.RunKey + (q.Preempted ? " (preempted)" : "")),
                Markup.Escape(q.Ask.User), Markup.Escape(q.Ask.Project), q.Ask.Priority.Name(), q.Ask.Count.ToString(CultureInfo.InvariantCulture),
                Durations.Clock((now - q.Ask.WaitingSinceUtc).TotalSeconds), Markup.Escape(q.Why));
        }
        return table;
    }

    public static Table Projects(ClusterSnapshot snapshot)
    {
        var table = new Table().AddColumns("project", "in use", "fair share", "guaranteed", "max", "weight", "waiting");
        foreach (ProjectUsage p in snapshot.Projects)
        {
            table.AddRow(Markup.Escape(p.Project), p.InUse.ToString(CultureInfo.InvariantCulture), p.FairShare.ToString("0.##", CultureInfo.InvariantCulture),
                p.Guaranteed.ToString(CultureInfo.InvariantCulture), p.Max?.ToString(CultureInfo.InvariantCulture) ?? "-",
                p.Weight.ToString("0.##", CultureInfo.InvariantCulture), p.Waiting.ToString(CultureInfo.InvariantCulture));
        }
        return table;
    }
}
