using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class ClusterCommandTests
{
    private static async Task<string> SpecAsync(TempDirectory dir, string extra = "", int steps = 6)
    {
        string path = dir.File("experiment.yaml");
        await File.WriteAllTextAsync(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: {{steps}}, log_every: 2 }
            experiment: { seeds: [1, 2] }
            output_dir: {{dir.Path}}/runs
            {{extra}}
            """);
        return path;
    }

    [Fact]
    public async Task Submit_with_local_runs_every_seed_to_the_end_and_prints_results()
    {
        using var dir = new TempDirectory();
        var (code, output, error) = await CliRunner.RunAsync("submit", await SpecAsync(dir), "--local", "--slots", "2", "--format", "json");
        Assert.True(code == ExitCodes.Success, error);
        using JsonDocument results = JsonDocument.Parse(output);
        JsonElement seeds = results.RootElement.GetProperty("status").GetProperty("seeds");
        Assert.Equal(2, seeds.GetArrayLength());
        Assert.All(seeds.EnumerateArray(), s => Assert.Equal("completed", s.GetProperty("state").GetString()));
        Assert.Contains("Submitted exp-", error);
        Assert.Contains(results.RootElement.GetProperty("summary").EnumerateArray(), m => m.GetProperty("metric").GetString() == "final_loss" && m.GetProperty("count").GetInt32() == 2);
    }

    [Fact]
    public async Task A_sweep_with_local_prints_mean_std_and_the_welch_test()
    {
        using var dir = new TempDirectory();
        await SpecAsync(dir);
        await File.WriteAllTextAsync(dir.File("sweep.yaml"), """
            base: experiment.yaml
            grid: { method.name: [lora, flat] }
            seeds: [1, 2]
            compare: { field: method.name, a: lora, b: flat }
            metrics: [eval_exact_match, final_loss]
            """);
        var (code, output, error) = await CliRunner.RunAsync("sweep", dir.File("sweep.yaml"), "--local", "--slots", "2");
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("method.name=lora", output);
        Assert.Contains("method.name=flat", output);
        Assert.Contains("p (Welch)", output);
        Assert.Contains("±", output);
    }

    [Fact]
    public async Task An_invalid_spec_is_rejected_before_any_cluster_is_contacted()
    {
        using var dir = new TempDirectory();
        string spec = await SpecAsync(dir, "lora: { rank: 0 }");
        var (code, _, error) = await CliRunner.RunAsync("submit", spec, "--api", "127.0.0.1:1", "--connect-timeout", "1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("lora.rank: must be at least 1", error);
        Assert.DoesNotContain("could not reach", error);
    }

    [Fact]
    public async Task An_unreachable_api_is_reported_with_where_it_looked()
    {
        var (code, _, error) = await CliRunner.RunAsync("status", "--api", "127.0.0.1:1", "--connect-timeout", "2");
        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains("127.0.0.1:1", error);
        Assert.Contains("--local", error);
    }

    [Fact]
    public async Task Unknown_ids_are_user_errors_and_an_empty_cluster_says_so()
    {
        var (code, _, error) = await CliRunner.RunAsync("results", "exp-nope", "--local");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("knows no experiment 'exp-nope'", error);
        (code, _, error) = await CliRunner.RunAsync("cancel", "sweep-nope", "--local");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("knows no experiment or sweep 'sweep-nope'", error);
        var status = await CliRunner.RunAsync("status", "--local");
        Assert.Equal(ExitCodes.Success, status.ExitCode);
        Assert.Contains("No experiments or sweeps of local@default", status.Output);
        var cluster = await CliRunner.RunAsync("cluster", "--local", "--slots", "2");
        Assert.Contains("1 silo(s), 2 free", cluster.Output);
    }

    [Fact]
    public async Task The_demo_compares_lora_and_flat_lora_over_seeds()
    {
        using var dir = new TempDirectory();
        var (code, output, error) = await CliRunner.RunAsync("demo", "--seeds", "2", "--steps", "8", "--output", dir.File("demo"));
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("method.name=lora", output);
        Assert.Contains("method.name=flat", output);
        Assert.Contains("eval_exact_match", output);
        Assert.Contains("p (Welch)", output);
        // Flatness is on: the table ends with an honest verdict on sharpness, significant or not.
        Assert.Matches(@"Flatness: sharpness@0\.05: method\.name=lora \S+ vs method\.name=flat \S+ \(Welch p = [0-9.]+\): (no significant difference|method\.name=(lora|flat) is flatter)", output);
        Assert.Equal(4, Directory.GetDirectories(dir.File("demo"), "seed-*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task The_shipped_cluster_examples_are_valid()
    {
        var submit = await CliRunner.RunAsync("submit", Path.Combine(AppContext.BaseDirectory, "examples", "experiment.yaml"), "--api", "127.0.0.1:1", "--connect-timeout", "1");
        Assert.Equal(ExitCodes.Unavailable, submit.ExitCode);   // valid: it got as far as connecting
        var sweep = await CliRunner.RunAsync("sweep", Path.Combine(AppContext.BaseDirectory, "examples", "sweep.yaml"), "--api", "127.0.0.1:1", "--connect-timeout", "1");
        Assert.Equal(ExitCodes.Unavailable, sweep.ExitCode);
        var flatness = await CliRunner.RunAsync("sweep", Path.Combine(AppContext.BaseDirectory, "examples", "flatness-sweep.yaml"), "--api", "127.0.0.1:1", "--connect-timeout", "1");
        Assert.True(flatness.ExitCode == ExitCodes.Unavailable, flatness.Error);
    }
}
