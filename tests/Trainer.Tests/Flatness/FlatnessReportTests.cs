using System.Text.Json;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Flatness;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Flatness;

public class FlatnessReportTests
{
    private static FlatnessReport TwoModelReport(FlatnessSettings settings)
    {
        var data = TestModels.Data(eval: 8).Eval;
        var models = new List<ModelFlatness>();
        foreach ((string label, double bScale) in new[] { ("base", 0.0), ("adapted", 0.08) })
        {
            using LlamaForCausalLM model = LoraInjector.Build(TestModels.Config(), new LoraOptions(4, 8, 0, Spec.LoraSpec.DefaultTargets), float32, CPU, runSeed: 1);
            model.InitializeWeights(7, 0.05);
            var generator = new Generator(3);
            using (no_grad())
            {
                foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                    layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * bScale);
            }
            models.Add(SharpnessProbe.Measure(label, null, model, data, 0, 4, settings));
        }
        return new FlatnessReport("test:random", "test", settings, data.Count, models, DateTime.UtcNow);
    }

    [Fact]
    public void The_html_report_renders_in_chromium_with_every_plot_drawn()
    {
        var settings = new FlatnessSettings { Sigmas = [0.02, 0.05, 0.1], Samples = 4, Directions = 2, Points = 7 };
        FlatnessReport report = TwoModelReport(settings);
        using var dir = new TempDirectory();
        string file = dir.File("report.html");
        File.WriteAllText(file, FlatnessHtml.Render(report));

        (int svgs, IReadOnlyList<HeadlessChromium.DrawnLine> lines) = HeadlessChromium.MeasurePlots(file);
        // One sharpness-against-σ plot and one plot per direction, each with one line per model.
        Assert.Equal(1 + settings.Directions, svgs);
        var series = lines.Where(l => l.Class == "series").ToList();
        Assert.Equal(report.Models.Count * (1 + settings.Directions), series.Count);
        // Drawn, not degenerate: every line spans the plot horizontally and moves vertically.
        Assert.All(series, l => Assert.True(l.Width > 100 && l.Height > 1 && l.Length > l.Width, $"{l}"));

        string html = File.ReadAllText(file);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("σ = 0.05", html);
        Assert.Contains("base − adapted", html);
        Assert.Contains("not computed: not requested", html);
    }

    [Fact]
    public void The_json_report_carries_every_figure_by_snake_case_name()
    {
        FlatnessReport report = TwoModelReport(new FlatnessSettings { Sigmas = [0.05], Samples = 3, Directions = 1, Points = 3 });
        using JsonDocument json = JsonDocument.Parse(FlatnessReportJson.Serialize(report));
        JsonElement model = json.RootElement.GetProperty("models")[1];
        Assert.Equal("adapted", model.GetProperty("label").GetString());
        JsonElement sharpness = model.GetProperty("sharpness")[0];
        Assert.Equal(0.05, sharpness.GetProperty("sigma").GetDouble());
        Assert.Equal(3, sharpness.GetProperty("samples").GetArrayLength());
        Assert.Equal("sharpness@0.05", sharpness.GetProperty("metric_name").GetString());
        Assert.Equal(report.Models[1].Sharpness[0].Mean, sharpness.GetProperty("mean").GetDouble());
        Assert.Equal(3, model.GetProperty("curves")[0].GetProperty("losses").GetArrayLength());
        JsonElement comparison = json.RootElement.GetProperty("comparisons")[0];
        Assert.Equal(report.Models[0].Sharpness[0].Mean - report.Models[1].Sharpness[0].Mean, comparison.GetProperty("mean_difference").GetDouble(), 12);
    }
}
