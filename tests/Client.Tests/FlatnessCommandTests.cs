using System.Text.Json;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class FlatnessCommandTests
{
    [Fact]
    public async Task Two_adapters_and_the_base_are_probed_on_common_noise_in_json_html_and_stdout()
    {
        using var dir = new TempDirectory();
        foreach (string method in new[] { "lora", "flat" })
            Assert.Equal(ExitCodes.Success, (await CliRunner.RunAsync("train", "--steps", "4", "--set", $"method.name={method}", "--output", dir.File(method))).ExitCode);

        var (code, output, error) = await CliRunner.RunAsync("flatness", "--model", "tiny", "--adapter", $"lora={dir.File("lora/adapter")}",
            "--adapter", $"flat={dir.File("flat/adapter")}", "--data", "tiny-shift", "--max-examples", "16", "--sigma", "0,0.05",
            "--samples", "3", "--directions", "1", "--points", "5", "--hessian-iterations", "2", "--format", "json", "--out", dir.File("report/flatness.html"));
        Assert.True(code == ExitCodes.Success, error);
        // Progress on stderr, JSON on stdout, and the same JSON beside the HTML.
        Assert.Contains("Probing flat", error);
        Assert.Contains("σ = 0.05", error);
        using JsonDocument stdout = JsonDocument.Parse(output);
        Assert.Equal(File.ReadAllText(dir.File("report/flatness.json")).Trim(), output.Trim());
        Assert.Contains("<svg", File.ReadAllText(dir.File("report/flatness.html")));

        var models = stdout.RootElement.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(["base", "lora", "flat"], models.Select(m => m.GetProperty("label").GetString()));
        foreach (JsonElement model in models)
        {
            JsonElement atZero = model.GetProperty("sharpness")[0];
            Assert.All(atZero.GetProperty("samples").EnumerateArray(), s => Assert.Equal(0.0, s.GetDouble()));
            Assert.True(model.GetProperty("hessian").GetProperty("top_eigenvalue").GetDouble() > 0);
        }
        // The trained adapters' losses differ from the base's: the adapters were loaded.
        Assert.NotEqual(models[0].GetProperty("loss").GetDouble(), models[2].GetProperty("loss").GetDouble());
        Assert.Equal(3 * 2, stdout.RootElement.GetProperty("comparisons").GetArrayLength());
    }

    [Theory]
    [InlineData("--sigma", "0.1,abc", "error: --sigma: 'abc' is not a number")]
    [InlineData("--sigma", "0.1,-0.2", "error: --sigma: each σ must be a finite number ≥ 0")]
    [InlineData("--samples", "1", "error: --samples: must be at least 2")]
    [InlineData("--points", "4", "error: --points: must be odd")]
    [InlineData("--out", "report.txt", "error: --out: must end in .json or .html")]
    [InlineData("--adapter", "/no/such/adapter", "error: --adapter such: folder not found: /no/such/adapter")]
    [InlineData("--data", "/no/such.jsonl", "error: --data: file not found: /no/such.jsonl")]
    public async Task Bad_arguments_are_named(string option, string value, string message)
    {
        string[] args = ["flatness", "--model", "tiny", "--data", "tiny-shift", "--out", "r.json"];
        int at = Array.IndexOf(args, option);
        string[] final = at >= 0 ? [.. args[..(at + 1)], value, .. args[(at + 2)..]] : [.. args, option, value];
        var (code, _, error) = await CliRunner.RunAsync(final);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.StartsWith(message, error.Contains("error: ", StringComparison.Ordinal) ? error[error.IndexOf("error: ", StringComparison.Ordinal)..] : error);
        Assert.DoesNotContain("   at ", error);
    }
}
