using System.Globalization;
using System.Text.Json;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;

namespace FlatLora.Silo.Tests;

/// <summary>
/// The Grafana dashboards and alert rules against real data: a real Prometheus scrapes a real silo process while
/// it runs the demo (LoRA vs Flat-LoRA) and a data-parallel experiment. Every panel query and every variable must
/// parse (promtool) and return data; every alert rule must evaluate without error.
/// </summary>
public sealed class DashboardQueryTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(5);
    private readonly RedisServer _redis = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-dashboard-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void Every_dashboard_variable_a_query_uses_is_defined()
    {
        Assert.Equal(3, DashboardQueries.Files().Count);
        foreach (string file in DashboardQueries.Files())
        {
            IReadOnlySet<string> defined = DashboardQueries.DefinedVariables(file);
            var queries = DashboardQueries.PanelTargets(file).ToList();
            Assert.NotEmpty(queries);
            foreach (DashboardQueries.Query query in queries)
            {
                var undefined = DashboardQueries.UsedVariables(query.Expression).Where(v => !defined.Contains(v)).ToList();
                Assert.True(undefined.Count == 0, $"{query.Dashboard} {query.Where} uses undefined ${string.Join(", $", undefined)}");
            }
        }
    }

    [Fact]
    public async Task Every_panel_query_returns_data_from_a_silo_running_the_demo()
    {
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);
        string rules = Path.Combine(RepositoryPaths.Root, "deploy", "helm", "rules", "flatlora-alerts.yaml");
        using var cluster = new SiloCluster(_redis, $"dash-{Guid.NewGuid():N}");
        await cluster.StartSiloAsync("silo-a", cpuSlots: 2, settings: ["--FlatLora:Cluster:Scheduling:PreemptAfter=00:00:01"]);
        using var prometheus = new PrometheusServer([cluster.HttpPort("silo-a")], rules);
        await prometheus.WaitReadyAsync(TimeSpan.FromSeconds(60));
        DateTimeOffset start = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(5);

        // Low-priority runs hold both slots first: the demo's runs preempt them, for the sharing panels.
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", WriteLowPrioritySpec(), .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        string low = output.Split('\n').First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout,
            ["demo", "--seeds", "2", "--steps", "60", "--output", Path.Combine(_output, "demo"), .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        // A data-parallel run, for the all-reduce panels.
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", WriteDataParallelSpec(), "--watch", .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["cancel", low, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        await Task.Delay(TimeSpan.FromSeconds(3));   // the last scrapes
        DateTimeOffset end = DateTimeOffset.UtcNow;
        string range = $"{(int)Math.Ceiling((end - start).TotalSeconds)}s";

        var failures = new List<string>();
        int checkedQueries = 0;
        foreach (string file in DashboardQueries.Files())
        {
            foreach (DashboardQueries.Query query in DashboardQueries.PanelTargets(file))
            {
                string expression = DashboardQueries.Substitute(query.Expression, rateInterval: "5s", range);
                (int exit, string result) = await PrometheusServer.PromtoolAsync("query", "range",
                    "--start", Unix(start), "--end", Unix(end), "--step", "1s", prometheus.Url, expression);
                checkedQueries++;
                if (exit != 0)
                    failures.Add($"{query.Dashboard} {query.Where}: promtool failed ({exit}): {result.Trim()}\n  {expression}");
                else if (!result.Contains("=>", StringComparison.Ordinal))
                    failures.Add($"{query.Dashboard} {query.Where}: no data\n  {expression}");
            }
            foreach ((DashboardQueries.Query selector, string label) in DashboardQueries.LabelValueVariables(file))
            {
                string match = DashboardQueries.Substitute(selector.Expression, "5s", range);
                (int exit, string result) = await PrometheusServer.PromtoolAsync("query", "labels",
                    "--match", match, "--start", Unix(start), "--end", Unix(end), prometheus.Url, label);
                checkedQueries++;
                if (exit != 0 || result.Trim().Length == 0)
                    failures.Add($"{selector.Dashboard} {selector.Where}: no values of '{label}' ({exit}): {result.Trim()}\n  {match}");
            }
        }
        Assert.True(checkedQueries >= 30, $"only {checkedQueries} queries found");

        // A misspelt metric in an alert would evaluate fine and never fire: every metric the rules read must exist.
        var ruleMetrics = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(rules), @"\bflatlora_[a-z_]+\b")
            .Select(m => m.Value).Distinct().ToList();
        Assert.True(ruleMetrics.Count >= 4, string.Join(", ", ruleMetrics));
        foreach (string metric in ruleMetrics)
        {
            (int exit, string result) = await PrometheusServer.PromtoolAsync("query", "range",
                "--start", Unix(start), "--end", Unix(end), "--step", "1s", prometheus.Url, $"{{__name__=\"{metric}\"}}");
            if (exit != 0 || !result.Contains("=>", StringComparison.Ordinal))
                failures.Add($"alert rules read {metric}, which the silo never exported");
        }

        // The alert rules evaluated against the same data without errors (a typo in a metric would only return nothing;
        // a type error shows here).
        using JsonDocument rulesState = JsonDocument.Parse(await prometheus.GetAsync("/api/v1/rules"));
        var ruleStates = rulesState.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Select(r => (Name: r.GetProperty("name").GetString(), Health: r.GetProperty("health").GetString(),
                Error: r.TryGetProperty("lastError", out JsonElement e) ? e.GetString() : null))
            .ToList();
        Assert.Equal(5, ruleStates.Count);
        failures.AddRange(ruleStates.Where(r => r.Health != "ok").Select(r => $"rule {r.Name}: {r.Health} {r.Error}"));

        if (failures.Count > 0)
        {
            cluster.DumpLogs(Path.Combine(_output, "logs"));
            Assert.Fail($"{failures.Count} of {checkedQueries} dashboard queries failed:\n" + string.Join("\n", failures)
                + $"\nmetrics now:\n{await cluster.MetricsAsync("silo-a")}");
        }
    }

    private static string Unix(DateTimeOffset time) => time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private string WriteLowPrioritySpec()
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, "low.yaml");
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: 100000, log_every: 10 }
            checkpoint: { interval: 50 }
            experiment: { name: dashboards-low, seeds: [1, 2], priority: low }
            output_dir: {{_output}}/low
            """);
        return path;
    }

    private string WriteDataParallelSpec()
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, "data-parallel.yaml");
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            method: { name: flat, rho: 0.05 }
            optimizer: { lr: 0.005 }
            lora: { dropout: 0 }
            training: { batch_size: 16, micro_batch_size: 8, max_steps: 40, eval_every: 20, log_every: 2 }
            checkpoint: { interval: 20 }
            experiment: { name: dashboards-data-parallel, seeds: [5], world_size: 2 }
            output_dir: {{_output}}/dp
            """);
        return path;
    }

    public void Dispose()
    {
        _redis.Dispose();
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
