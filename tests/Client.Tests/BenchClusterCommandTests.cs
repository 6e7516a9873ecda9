using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class BenchClusterCommandTests
{
    [Fact]
    public async Task A_small_cluster_with_a_silo_killed_loses_and_repeats_no_trial()
    {
        var (code, output, error) = await CliRunner.RunAsync("bench", "cluster", "--silos", "3", "--devices-per-silo", "2", "--trials", "60",
            "--kill-silos", "1", "--shortest-job-ms", "100", "--longest-job-ms", "300", "--json");
        Assert.True(code == ExitCodes.Success, error + output);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement report = json.RootElement;
        Assert.Equal(60, report.GetProperty("trials_completed").GetInt32());
        Assert.Equal(0, report.GetProperty("trials_lost").GetInt32());
        Assert.Equal(0, report.GetProperty("trials_run_twice").GetInt32());
        Assert.True(report.GetProperty("inventory_consistent").GetBoolean(), report.GetProperty("inventory_problems").ToString());
        Assert.True(report.GetProperty("executions").GetInt32() >= 60);
        Assert.True(report.GetProperty("placement_samples").GetInt32() > 0);
        // Every placement falls in one window of the timeline, and the kill is on record for reading it.
        Assert.Equal(report.GetProperty("placement_samples").GetInt32(),
            report.GetProperty("placement_windows").EnumerateArray().Sum(w => w.GetProperty("samples").GetInt32()));
        Assert.Single(report.GetProperty("kills_at_seconds").EnumerateArray());
        Assert.InRange(report.GetProperty("queue_fill_seconds").GetDouble(), 0.0, report.GetProperty("total_seconds").GetDouble());
        Assert.Contains("killing bench-", error);
        Assert.Contains("restarted bench-", error);
    }

    [Fact]
    public async Task Job_lengths_out_of_order_are_refused()
    {
        var (code, _, error) = await CliRunner.RunAsync("bench", "cluster", "--shortest-job-ms", "500", "--longest-job-ms", "100");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--shortest-job-ms", error);
    }
}
