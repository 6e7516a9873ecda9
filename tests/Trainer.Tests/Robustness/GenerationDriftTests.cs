using System.Text.Json;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness;
using FlatLora.Trainer.Robustness.Evaluation;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Robustness;

public class GenerationDriftTests
{
    [Fact]
    public void A_changed_number_is_flagged_and_its_segment_carries_the_drift()
    {
        IReadOnlyList<TextUnit> clean = Segmenter.Split("Revenue rose to 12 million. The outlook is stable.");
        IReadOnlyList<TextUnit> perturbed = Segmenter.Split("Revenue rose to 15 million. The outlook is stable.");
        // Stand-in embeddings: the second sentences are identical, the first ones differ.
        float[][] cleanEmbeddings = [[1, 0, 0], [0, 1, 0]];
        float[][] perturbedEmbeddings = [[0.6f, 0, 0.8f], [0, 1, 0]];
        var drift = SegmentAlignment.Align(clean, cleanEmbeddings, perturbed, perturbedEmbeddings, 0.01, "uniform");
        Assert.Equal(2, drift.Count);
        Assert.True(drift[0].Drift > 0.3 && drift[1].Drift < 0.05, $"{drift[0].Drift}, {drift[1].Drift}");
        Assert.Equal(["12"], drift[0].ChangedNumbers);
        Assert.True(drift[0].CriticalChange);
        Assert.False(drift[1].CriticalChange);
    }

    [Fact]
    public void An_empty_perturbed_answer_drifts_every_segment_by_one()
    {
        var drift = SegmentAlignment.Align(Segmenter.Split("One. Two."), [[1f, 0f], [0f, 1f]], [], [], 0.05, "length");
        Assert.All(drift, d => Assert.Equal(1, d.Drift));
    }

    [Theory]
    [InlineData("the cat sat on the mat", "the cat sat on the mat", 1.0)]
    [InlineData("the cat sat", "a dog ran", 0.0)]
    [InlineData("the cat sat on the mat", "the cat on the mat", 2 * (5 / 5.0) * (5 / 6.0) / (5 / 5.0 + 5 / 6.0))]
    public void Rouge_l_is_the_lcs_f1(string candidate, string reference, double expected)
    {
        Assert.Equal(expected, RougeL.F1(candidate, reference), 1e-9);
    }

    [Fact]
    public void The_evaluator_generates_aligns_and_renders_deterministically()
    {
        var tokenizer = new ByteTokenizer();
        using LlamaForCausalLM model = LoraInjector.Build(TestModels.Config(), new LoraOptions(4, 8, 0, ["q_proj"]), ScalarType.Float32, CPU, runSeed: 1);
        model.InitializeWeights(3, std: 0.2);
        var embedder = new SegmentEmbedder(model, tokenizer);
        var examples = Enumerable.Range(0, 3).Select(i =>
            TrainingExample.PromptResponse($"Describe item {i} for Paris, please: ", "It is fine. It costs 3 euros.", $"t:{i}")).ToList();
        var settings = new GenerationDriftSettings { Perturbations = ["typo:heavy", "casing:heavy"], MaxNewTokens = 12 };

        ModelRobustness first = GenerationDriftEvaluator.Evaluate("a", null, model, tokenizer, embedder, examples, settings, _ => { });
        ModelRobustness second = GenerationDriftEvaluator.Evaluate("b", null, model, tokenizer, embedder, examples, settings, _ => { });
        Assert.Equal(["typo:heavy", "casing:heavy"], first.Summary.Select(s => s.Perturbation));
        Assert.Equal(3, first.Examples.Count);
        Assert.All(first.Examples, e => Assert.Equal(2, e.Perturbed.Count));
        // Same model, same seed: the same perturbed prompts and the same figures.
        Assert.Equal(first.Examples.SelectMany(e => e.Perturbed.Select(p => p.Prompt)), second.Examples.SelectMany(e => e.Perturbed.Select(p => p.Prompt)));
        Assert.Equal(first.Summary.Select(s => s.MeanDrift), second.Summary.Select(s => s.MeanDrift));
        Assert.Contains(first.Examples, e => e.Perturbed.Any(p => p.Prompt != e.Prompt));
        Assert.All(first.Examples, e => Assert.NotNull(e.CleanRougeL));

        var report = new RobustnessReport("test", "inline", settings, [first, second], DateTime.UnixEpoch);
        using JsonDocument json = JsonDocument.Parse(RobustnessReportJson.Serialize(report));
        Assert.Equal(2, json.RootElement.GetProperty("models").GetArrayLength());
        Assert.True(json.RootElement.GetProperty("models")[0].GetProperty("summary")[0].TryGetProperty("high_drift_share", out _));
        string html = RobustnessHtml.Render(report);
        Assert.Equal(2, html.Split("<svg").Length - 1);   // one histogram per perturbation
        Assert.Contains("<td class=\"l\">typo:heavy</td><td class=\"l\">b</td>", html);
        Assert.DoesNotContain("<script", html);
    }

    [Fact]
    public void Html_escapes_generated_text()
    {
        var unit = new TextUnit(0, 0, "<b>x</b>", [], []);
        var generation = new PerturbedGeneration("typo:light", "<i>p</i>", [], "<b>x</b>", [unit], [new SegmentDriftResult(0, "<b>x</b>", 0.5, 0, false, [], [])], 0.9, null);
        var example = new ExampleRobustness(0, "s", "<i>p</i>", null, "<b>x</b>", [unit], null, [generation]);
        var model = new ModelRobustness("m<1>", null, [new PerturbationSummary("typo:light", 1, 1, 0.5, 0.5, 0.5, 1, 0.9, 1, 0, null)], [example]);
        string html = RobustnessHtml.Render(new RobustnessReport("m", "d", new GenerationDriftSettings { Perturbations = ["typo:light"] }, [model], DateTime.UnixEpoch));
        Assert.DoesNotContain("<b>x</b>", html);
        Assert.Contains("&lt;b&gt;x&lt;/b&gt;", html);
        Assert.Contains("m&lt;1&gt;", html);
    }
}
