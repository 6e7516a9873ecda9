using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class RobustnessCommandTests
{
    [Fact]
    public async Task Two_adapters_are_compared_side_by_side_in_json_and_html()
    {
        using var dir = new TempDirectory();
        foreach (string method in new[] { "lora", "flat" })
            Assert.Equal(ExitCodes.Success, (await CliRunner.RunAsync("train", "--steps", "4", "--set", $"method.name={method}", "--output", dir.File(method))).ExitCode);

        var (code, output, error) = await CliRunner.RunAsync("robustness", "--model", "tiny", "--adapter", $"lora={dir.File("lora/adapter")}",
            "--adapter", $"flat={dir.File("flat/adapter")}", "--data", "tiny-shift", "--max-examples", "4", "--max-new-tokens", "8",
            "--perturb", "typo:heavy,confusable:light", "--out", dir.File("report/robustness.html"));
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("typo:heavy", output);          // the summary table on stdout
        Assert.True(File.Exists(dir.File("report/robustness.html")));
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(dir.File("report/robustness.json")));
        var models = report.RootElement.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(["lora", "flat"], models.Select(m => m.GetProperty("label").GetString()));
        Assert.All(models, m => Assert.Equal(2, m.GetProperty("summary").GetArrayLength()));
        Assert.All(models, m => Assert.Equal(4, m.GetProperty("examples").GetArrayLength()));
        // The same perturbed prompts for both models.
        string Prompts(JsonElement m) => string.Join("|", m.GetProperty("examples").EnumerateArray()
            .SelectMany(e => e.GetProperty("perturbed").EnumerateArray().Select(p => p.GetProperty("prompt").GetString())));
        Assert.Equal(Prompts(models[0]), Prompts(models[1]));
    }

    [Theory]
    [InlineData("--out", "report.txt", "--out must end in .json or .html")]
    [InlineData("--perturb", "tpyo:heavy", "unknown perturbation 'tpyo'")]
    [InlineData("--data", "/no/such.jsonl", "file not found: /no/such.jsonl")]
    public async Task Bad_arguments_are_named(string option, string value, string message)
    {
        string[] args = ["robustness", "--model", "tiny", "--data", "tiny-shift", "--out", "r.json"];
        int at = Array.IndexOf(args, option);
        string[] final = at >= 0 ? [.. args[..(at + 1)], value, .. args[(at + 2)..]] : [.. args, option, value];
        var (code, _, error) = await CliRunner.RunAsync(final);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(message, error);
    }
}
