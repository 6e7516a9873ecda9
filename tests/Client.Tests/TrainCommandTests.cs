using System.Text.Json;
using FlatLora.Client.Commands;
using FlatLora.Spec;

namespace FlatLora.Client.Tests;

public class TrainCommandTests
{
    [Fact]
    public async Task Trains_the_built_in_task_and_prints_a_json_summary()
    {
        using var dir = new TempDirectory();
        var (code, output, error) = await CliRunner.RunAsync("train", "--steps", "6", "--method", "lora", "--output", dir.Path,
            "--set", "training.log_every=2", "--format", "json");
        Assert.Equal(ExitCodes.Success, code);
        using JsonDocument summary = JsonDocument.Parse(output);
        Assert.Equal(6, summary.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal("lora", summary.RootElement.GetProperty("method").GetString());
        Assert.True(summary.RootElement.GetProperty("frozen_weights_unchanged").GetBoolean());
        Assert.Contains("step 2/6", error);
        Assert.Contains("step 6/6", error);
        Assert.True(File.Exists(Path.Combine(dir.Path, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public async Task Resume_continues_from_the_newest_checkpoint()
    {
        using var dir = new TempDirectory();
        var first = await CliRunner.RunAsync("train", "--steps", "4", "--output", dir.Path, "--set", "checkpoint.interval=2");
        Assert.Equal(ExitCodes.Success, first.ExitCode);
        var again = await CliRunner.RunAsync("train", "--steps", "4", "--output", dir.Path, "--resume");
        Assert.Equal(ExitCodes.Success, again.ExitCode);
        Assert.Contains("Resumed from", again.Error);
        Assert.Contains("step-000004", again.Error);
    }

    [Fact]
    public async Task Resume_without_a_checkpoint_is_a_user_error()
    {
        using var dir = new TempDirectory();
        var (code, _, error) = await CliRunner.RunAsync("train", "--steps", "4", "--output", dir.Path, "--resume");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("no checkpoint under", error);
    }

    [Fact]
    public async Task An_unknown_field_in_the_config_names_file_line_and_field()
    {
        using var dir = new TempDirectory();
        string config = dir.File("run.yaml");
        await File.WriteAllTextAsync(config, "method:\n  name: flat\n  rhoo: 0.1\n");
        var (code, output, error) = await CliRunner.RunAsync("train", "--config", config);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Empty(output);
        Assert.Contains($"{config}:3:3: method.rhoo: unknown field", error);
    }

    [Fact]
    public async Task An_invalid_value_is_rejected_before_anything_runs()
    {
        using var dir = new TempDirectory();
        var (code, _, error) = await CliRunner.RunAsync("train", "--output", dir.Path, "--set", "lora.rank=0", "--set", "optimizer.lr=-1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("lora.rank: must be at least 1 (got 0)", error);
        Assert.Contains("optimizer.lr: must be a positive number", error);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "checkpoints")));
    }

    [Fact]
    public async Task A_bad_dataset_line_is_reported_with_file_and_line()
    {
        using var dir = new TempDirectory();
        string data = dir.File("train.jsonl");
        await File.WriteAllTextAsync(data, "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\"}\n");
        var (code, _, error) = await CliRunner.RunAsync("train", "--output", dir.Path, "--set", $"data.train={data}");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains($"{data}:2: missing string field 'completion'", error);
    }

    [Fact]
    public void The_shipped_example_is_valid_and_is_the_built_in_preset()
    {
        TrainSpec example = SpecLoader.LoadFile<TrainSpec>(Path.Combine(AppContext.BaseDirectory, "examples", "tiny.yaml"));
        Assert.Empty(TrainSpecValidator.Validate(example));
        Assert.Equal(Trainer.Training.SpecFingerprint.Json(TrainPresets.Tiny()), Trainer.Training.SpecFingerprint.Json(example));
        Assert.Equal(TrainPresets.Tiny().OutputDir, example.OutputDir);
    }
}
