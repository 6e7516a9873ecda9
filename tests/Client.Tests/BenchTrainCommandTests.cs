using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class BenchTrainCommandTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("flat")]
    public async Task Prints_figures_as_json_and_frozen_weights_do_not_move(string method)
    {
        var (code, output, _) = await CliRunner.RunAsync("bench", "train", "--shape", "tiny", "--method", method,
            "--batch", "2", "--seq", "16", "--steps", "3", "--warmup", "1", "--json");
        Assert.Equal(ExitCodes.Success, code);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(method, root.GetProperty("method").GetString());
        Assert.True(root.GetProperty("ms_per_step").GetDouble() > 0);
        Assert.True(root.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.True(root.GetProperty("lora_parameters").GetInt64() > 0);
        Assert.Equal(0, root.GetProperty("frozen_max_abs_change").GetDouble());
    }

    [Fact]
    public async Task Checkpointing_runs_and_is_reported()
    {
        var (code, output, error) = await CliRunner.RunAsync("bench", "train", "--checkpointing", "--steps", "2", "--warmup", "0", "--json");
        Assert.True(code == ExitCodes.Success, error);
        using JsonDocument result = JsonDocument.Parse(output);
        Assert.True(result.RootElement.GetProperty("checkpointing").GetBoolean());
        Assert.Equal(0, result.RootElement.GetProperty("frozen_max_abs_change").GetDouble());
        Assert.Equal("generated on the CPU", result.RootElement.GetProperty("flat_noise").GetString());
    }

    [Fact]
    public async Task A_missing_libtorch_folder_is_named()
    {
        var (code, _, error) = await CliRunner.RunAsync("bench", "train", "--libtorch", "/no/such/torch/lib");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--libtorch: libtorch folder /no/such/torch/lib does not exist", error);
    }

    [Fact]
    public async Task An_unknown_shape_is_rejected_by_the_parser()
    {
        var (code, _, error) = await CliRunner.RunAsync("bench", "train", "--shape", "70b");
        Assert.NotEqual(ExitCodes.Success, code);
        Assert.Contains("70b", error);
    }
}
