using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class BenchApiCommandTests
{
    [Fact]
    public async Task A_short_run_reports_both_phases_without_errors_and_the_cost_of_the_policy()
    {
        var (code, output, error) = await CliRunner.RunAsync("bench", "api", "--clients", "4", "--seconds", "1", "--experiments", "60", "--json");
        Assert.True(code == ExitCodes.Success, error + output);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement report = json.RootElement;
        Assert.Equal(60, report.GetProperty("experiments").GetInt32());
        var phases = report.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal(["tls+certificate", "plaintext+none"], phases.Select(p => p.GetProperty("phase").GetString()));
        Assert.All(phases, p => Assert.Equal(0, p.GetProperty("errors").GetInt64()));
        Assert.All(phases, p => Assert.True(p.GetProperty("requests").GetInt64() > 0));
        Assert.All(phases, p => Assert.True(p.GetProperty("ms_p99").GetDouble() >= p.GetProperty("ms_p50").GetDouble()));
        Assert.True(report.GetProperty("identify_and_authorize_microseconds").GetDouble() > 0);
    }

    [Fact]
    public async Task Bad_options_are_named()
    {
        var (code, _, error) = await CliRunner.RunAsync("bench", "api", "--clients", "0");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--clients must be in [1, 1024] (got 0)", error);
    }
}
