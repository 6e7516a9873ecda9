using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Abstractions.Cluster;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora queue`: every waiting run in the order the scheduler serves them, whose it is, and why it waits.</summary>
internal sealed class QueueCommand : ClusterCommand
{
    private static readonly Option<string> FormatOption = new("--format") { Description = "table (default) or json", DefaultValueFactory = _ => "table" };

    public QueueCommand() : base("queue", "Show waiting runs in the scheduler's order: owner, project, priority, wait and why")
    {
        Options.Add(FormatOption);
        Validators.Add(r =>
        {
            if (r.GetValue(FormatOption) is not ("table" or "json"))
                r.AddError($"--format: must be table or json (got '{r.GetValue(FormatOption)}')");
        });
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, ApiSession cluster, CancellationToken cancellationToken)
    {
        ClusterSnapshot snapshot = await cluster.ClusterAsync(cancellationToken).ConfigureAwait(false);
        TextWriter output = parseResult.InvocationConfiguration.Output;
        DateTime now = DateTime.UtcNow;
        if (parseResult.GetValue(FormatOption) == "json")
        {
            var json = new JsonObject
            {
                ["waiting"] = new JsonArray([.. snapshot.Waiting.Select(q => (JsonNode)new JsonObject
                {
                    ["position"] = q.Position, ["run"] = q.Ask.RunKey, ["owner"] = q.Ask.User, ["project"] = q.Ask.Project,
                    ["priority"] = q.Ask.Priority.Name(), ["devices"] = q.Ask.Count, ["waited_seconds"] = Math.Round((now - q.Ask.WaitingSinceUtc).TotalSeconds, 1),
                    ["preempted"] = q.Preempted, ["why"] = q.Why,
                })]),
                ["projects"] = new JsonArray([.. snapshot.Projects.Select(p => (JsonNode)new JsonObject
                {
                    ["project"] = p.Project, ["in_use"] = p.InUse, ["fair_share"] = Math.Round(p.FairShare, 3), ["guaranteed"] = p.Guaranteed,
                    ["max"] = p.Max, ["weight"] = p.Weight, ["waiting"] = p.Waiting,
                })]),
            };
            await output.WriteLineAsync(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        if (snapshot.Waiting.Count == 0)
            console.WriteLine("no run waits for devices");
        else
            console.Write(QueueView.Waiting(snapshot, now));
        var preempting = snapshot.Running.Where(r => r.PreemptingSinceUtc is not null).Select(r => r.Ask.RunKey).ToList();
        if (preempting.Count > 0)
            console.WriteLine($"checkpointing to give their devices back: {string.Join(", ", preempting)}");
        return ExitCodes.Success;
    }
}
