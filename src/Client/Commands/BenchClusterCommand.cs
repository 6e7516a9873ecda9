using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlatLora.Client.Rendering;
using FlatLora.Benchmarks.Cluster;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora bench cluster`: the control plane at scale with simulated devices. S in-process silos, N trials, K silo
/// kills; reports trials lost and run twice, placement latency, queue drain time and the inventory's consistency.
/// </summary>
internal sealed class BenchClusterCommand : FlatloraCommand
{
    private static readonly Option<int> SilosOption = new("--silos") { Description = "In-process silos", DefaultValueFactory = _ => 16 };
    private static readonly Option<int> DevicesOption = new("--devices-per-silo") { Description = "Simulated devices per silo", DefaultValueFactory = _ => 8 };
    private static readonly Option<int> TrialsOption = new("--trials") { Description = "Trials (one seed each)", DefaultValueFactory = _ => 10_000 };
    private static readonly Option<int> KillsOption = new("--kill-silos") { Description = "Silos killed (and restarted) during the run; never the primary", DefaultValueFactory = _ => 4 };
    private static readonly Option<long> SeedOption = new("--seed") { Description = "Seed of job lengths and kill times", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> ShortestOption = new("--shortest-job-ms") { Description = "Shortest simulated job", DefaultValueFactory = _ => 500 };
    private static readonly Option<int> LongestOption = new("--longest-job-ms") { Description = "Longest simulated job", DefaultValueFactory = _ => 1500 };
    private static readonly Option<int> ProjectsOption = new("--projects")
    {
        Description = "0: one project; 3: a floods the cluster with the trials (jobs of 60-180 s unless given), b submits small runs once it is full, c a high-priority run every 20 s",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<int> SmallRunsOption = new("--small-runs") { Description = "With --projects 3: b's runs (10-30 s each)", DefaultValueFactory = _ => 200 };
    private static readonly Option<double> PreemptAfterOption = new("--preempt-after-s") { Description = "With --projects 3: the scheduler's PreemptAfter", DefaultValueFactory = _ => 30 };
    private static readonly Option<int> CheckpointOption = new("--checkpoint-ms") { Description = "With --projects 3: what a preempted job's checkpoint takes", DefaultValueFactory = _ => 1000 };
    private static readonly Option<bool> SiloLogsOption = new("--silo-logs") { Description = "Print the silos' warnings and errors on stderr" };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the figures as one JSON object on stdout" };

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public BenchClusterCommand() : base("cluster", "Placement and bookkeeping at scale: in-process silos, simulated devices, silo kills")
    {
        foreach (Option option in new Option[] { SilosOption, DevicesOption, TrialsOption, KillsOption, SeedOption, ShortestOption, LongestOption, ProjectsOption, SmallRunsOption, PreemptAfterOption, CheckpointOption, SiloLogsOption, JsonOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        int projects = parseResult.GetValue(ProjectsOption);
        // With projects, a's runs are long unless told otherwise: devices must free rarely for preemption to matter.
        int Length(Option<int> option, int withProjects) =>
            projects > 0 && parseResult.GetResult(option) is null or { Implicit: true } ? withProjects : parseResult.GetValue(option);
        var options = new ClusterBenchmarkOptions
        {
            Projects = projects,
            SmallRuns = parseResult.GetValue(SmallRunsOption),
            PreemptAfter = TimeSpan.FromSeconds(parseResult.GetValue(PreemptAfterOption)),
            CheckpointTime = TimeSpan.FromMilliseconds(parseResult.GetValue(CheckpointOption)),
            Silos = parseResult.GetValue(SilosOption),
            DevicesPerSilo = parseResult.GetValue(DevicesOption),
            Trials = parseResult.GetValue(TrialsOption),
            KillSilos = parseResult.GetValue(KillsOption),
            Seed = parseResult.GetValue(SeedOption),
            ShortestJob = TimeSpan.FromMilliseconds(Length(ShortestOption, 60_000)),
            LongestJob = TimeSpan.FromMilliseconds(Length(LongestOption, 180_000)),
            SiloLogs = parseResult.GetValue(SiloLogsOption),
        };
        IAnsiConsole console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        ClusterBenchmarkReport report = await ClusterBenchmark.RunAsync(options, message => console.WriteLine(message), cancellationToken).ConfigureAwait(false);
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(JsonOption))
            await output.WriteLineAsync(JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
        else
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{report.TrialsCompleted}/{report.Trials} trials completed on {report.Silos}×{report.DevicesPerSilo} devices with {report.Kills} kill(s) in {report.TotalSeconds:F1} s: " +
                $"{report.TrialsLost} lost, {report.TrialsRunTwice} run twice; placement p50 {report.PlacementMsP50:F1} ms, p99 {report.PlacementMsP99:F1} ms " +
                $"(scheduling p99 {report.SchedulingMsP99:F1} ms); {report.CpuMsPerTrial:F1} ms CPU per trial; " +
                $"queue drained in {report.QueueDrainSeconds:F1} s; inventory {(report.InventoryConsistent ? "consistent" : "INCONSISTENT: " + string.Join("; ", report.InventoryProblems))}")).ConfigureAwait(false);
        if (report.Projects is { } p && !parseResult.GetValue(JsonOption))
        {
            string steady = p.Steady is { } st
                ? string.Create(CultureInfo.InvariantCulture, $" ({st.AOverFairShare:F3} and {st.BOverFairShare:F3} from {p.PreemptAfterSeconds + p.CheckpointSeconds + 1:F0} s on)")
                : "";
            string preemptions = string.Join(", ", p.Preemptions.Select(kv => $"{kv.Key} {kv.Value}"));
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"projects: while b waited ({p.ContendedSeconds:F0} s) a held {p.Contended.AOverFairShare:F3} and b {p.Contended.BOverFairShare:F3} of their fair share{steady}; " +
                $"b waited p50 {p.BWaitSecondsP50:F1} s, p99 {p.BWaitSecondsP99:F1} s; c ran after at most {p.CToRunningSeconds.DefaultIfEmpty(double.NaN).Max():F1} s " +
                $"(target {p.CToRunningTargetSeconds:F0} s); preemptions {preemptions}; " +
                $"steps redone after a preemption {p.StepsRedoneAfterPreemption}, after a kill {p.StepsRedoneAfterKill}")).ConfigureAwait(false);
        }
        return report.TrialsLost == 0 && report.TrialsRunTwice == 0 && report.InventoryConsistent ? ExitCodes.Success : ExitCodes.Failure;
    }
}
