using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class GenerateAndMergeCommandTests
{
    [Fact]
    public async Task Generate_with_the_built_in_model_prints_json_results()
    {
        string[] words = ["hello", "kfod", "mnop", "ponm", "jihg"];
        var (code, output, _) = await CliRunner.RunAsync(["generate", "--model", "tiny", .. words.SelectMany(w => new[] { "--prompt", $"copy: {w} => " }),
            "--max-new-tokens", "8", "--format", "json"]);
        Assert.Equal(ExitCodes.Success, code);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.Equal(words.Length, json.RootElement.GetArrayLength());
        // The pretrained tiny model copies words: most copies must be exact, a real check that generation runs the
        // trained weights (a random model copies none).
        int exact = words.Where((w, i) => json.RootElement[i].GetProperty("text").GetString() == w + "\n").Count();
        Assert.True(exact >= 3, $"only {exact} of {words.Length} words copied: {output}");
        Assert.Contains(json.RootElement.EnumerateArray(), r => r.GetProperty("finish_reason").GetString() == "stop");
    }

    [Fact]
    public async Task Merging_an_adapter_into_the_built_in_model_writes_a_model_folder()
    {
        using var dir = new TempDirectory();
        var train = await CliRunner.RunAsync("train", "--steps", "3", "--output", dir.File("run"));
        Assert.Equal(ExitCodes.Success, train.ExitCode);
        var merge = await CliRunner.RunAsync("merge", "--model", "tiny", "--adapter", dir.File("run/adapter"), "--out", dir.File("merged"));
        Assert.Equal(ExitCodes.Success, merge.ExitCode);
        Assert.Contains("Merged model written", merge.Output);
        Assert.True(File.Exists(dir.File("merged/config.json")));
        Assert.True(File.Exists(dir.File("merged/model.safetensors")));
    }

    [Fact]
    public async Task A_missing_model_folder_is_a_user_error()
    {
        var (code, _, error) = await CliRunner.RunAsync("generate", "--model", "/no/such/model", "--prompt", "hi");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("/no/such/model", error);
    }

    [Fact]
    public async Task Bad_sampling_options_are_user_errors()
    {
        var (code, _, error) = await CliRunner.RunAsync("generate", "--model", "tiny", "--prompt", "hi", "--top-p", "0");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--top-p", error);
    }
}
