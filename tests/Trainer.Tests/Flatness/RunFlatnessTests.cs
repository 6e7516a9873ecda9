using System.Text.Json;
using FlatLora.Spec;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Tests.Flatness;

public class RunFlatnessTests
{
    private static TrainSpec WithFlatness(TrainSpec spec, params double[] sigmas) => spec with
    {
        Evaluation = new EvaluationSpec { Flatness = new FlatnessSpec { Sigma = sigmas, Samples = 3 } },
    };

    [Fact]
    public void The_final_evaluation_measures_sharpness_into_summary_metrics_and_the_result()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        TrainSpec spec = WithFlatness(TestModels.Spec(dir.File("run"), steps: 4) with { Training = TestModels.Spec("x").Training with { MaxSteps = 4, EvalEvery = 2 } },
            0, 0.05);
        var messages = new List<string>();
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data(), new RunOptions { Observer = new ListObserver(messages) });
        ulong digest = FrozenWeightDigest.Compute(run.Model);
        TrainResult result = run.Train();

        Assert.Equal(0.0, result.Metrics.Get("sharpness@0"));
        double sharpness = result.Metrics.Get("sharpness@0.05");
        Assert.True(double.IsFinite(sharpness) && sharpness != 0, $"{sharpness}");
        Assert.Equal(sharpness, result.FinalEval!.Flatness!.Sharpness[1].Mean);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(dir.File("run/summary.json")));
        Assert.Equal(Math.Round(sharpness, 6), summary.RootElement.GetProperty("sharpness@0.05").GetDouble());
        // Only the final evaluation measures it (one per run), and the log line says what it costs.
        var evals = File.ReadAllLines(dir.File("run/metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("kind").GetString() == "eval").ToList();
        Assert.Single(evals, e => e.TryGetProperty("sharpness@0.05", out _));
        Assert.True(evals.Count > 1);
        Assert.Contains(messages, m => m.Contains("Flatness: expected sharpness at σ = 0, 0.05 over 3 noise samples", StringComparison.Ordinal));
        Assert.Equal(digest, FrozenWeightDigest.Compute(run.Model));
    }

    [Fact]
    public void Flatness_without_evaluation_data_is_refused_naming_the_section()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        var error = Assert.Throws<ArgumentException>(() =>
            new FineTuneRun(ValidTrainSpec.From(WithFlatness(TestModels.Spec(dir.File("run")), 0.05)), baseModel, TestModels.Data(eval: 0)));
        Assert.StartsWith("evaluation.flatness: needs evaluation examples", error.Message);
    }

    private sealed class ListObserver(List<string> messages) : ITrainingObserver
    {
        public void OnInfo(string message) => messages.Add(message);
    }
}
