using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Robustness;

public class DriftRegularizerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly ByteTokenizer Tokenizer = new();

    private static TeacherForcedPair Pair(string prompt, string response, string perturbation, long seed = 1)
    {
        var random = new PerturbationRandom(seed);
        return TeacherForcedPair.Build(TrainingExample.PromptResponse(prompt, response, "t:1"), PerturbationCatalog.Parse(perturbation)[0],
            ref random, Tokenizer, 96);
    }

    [Fact]
    public void Every_response_token_is_paired_with_its_perturbed_twin_and_its_segment()
    {
        TeacherForcedPair pair = Pair("Please summarise the report about Paris quickly: ", "Sales rose 12%. Paris led, with 3 new stores.", "casing:heavy", seed: 4);
        Assert.NotEqual(pair.Prompt.Original, pair.Prompt.Text);
        Assert.Equal(pair.Clean.TargetCount, pair.CleanPositions.Length);   // byte tokens: every target lines up
        Assert.All(pair.CleanPositions.Zip(pair.PerturbedPositions),
            p => Assert.Equal(pair.Clean.Targets[p.First], pair.Perturbed.Targets[p.Second]));
        Assert.Equal(2, pair.Segments.Count);
        int firstSegmentTokens = "Sales rose 12%. ".Length;   // the space after the sentence belongs to it
        Assert.All(pair.Segment.Take(firstSegmentTokens), s => Assert.Equal(0, s));
        Assert.All(pair.Segment.Skip(firstSegmentTokens), s => Assert.Equal(1, s));   // ... and the closing eos to the last
    }

    [Fact]
    public void The_penalty_reaches_only_lora_parameters_and_is_zero_when_the_prompt_is_unchanged()
    {
        LlamaConfig config = TestModels.Config();
        using LlamaForCausalLM model = LoraInjector.Build(config, new LoraOptions(4, 8, 0, LoraSpec.DefaultTargets), ScalarType.Float32, CPU, runSeed: 3);
        model.InitializeWeights(5, std: 0.2);
        using (no_grad())
        {
            foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                layer.LoraB.normal_(0, 0.05);   // B starts at zero; give the adapter an effect
        }
        LoraInjector.FreezeBase(model);
        var regularizer = new DriftRegularizer(new RobustnessSpec { Weight = 1, Perturb = ["typo:heavy"] }, Tokenizer, 96, 1);
        TeacherForcedPair changed = Pair("fix the typo in this line: ", "the typo is fixed.", "typo:heavy", seed: 0);
        Assert.NotEqual(changed.Prompt.Original, changed.Prompt.Text);
        TeacherForcedPair unchanged = Pair("!!! ", "ok. fine.", "typo:heavy");   // no word to misspell
        Assert.Equal(unchanged.Prompt.Original, unchanged.Prompt.Text);
        var pairs = new List<TeacherForcedPair> { changed, unchanged };

        (Tensor clean, _) = BatchCollator.Collate(pairs.Select(p => p.Clean).ToList(), Tokenizer.PadId, CPU);
        (Tensor perturbed, _) = BatchCollator.Collate(pairs.Select(p => p.Perturbed).ToList(), Tokenizer.PadId, CPU);
        (Tensor drift, int[] owner, _) = SegmentDrift.Compute(model.forward(clean), model.forward(perturbed), pairs, "kl");
        Assert.All(drift.data<float>().ToArray().Where((_, s) => owner[s] == 1), d => Assert.Equal(0f, d, 1e-6f));
        Assert.Contains(drift.data<float>().ToArray().Where((_, s) => owner[s] == 0), d => d > 1e-4f);

        Tensor penalty = regularizer.Penalty(drift, owner, pairs.Count);
        penalty.backward();
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in model.named_parameters())
        {
            bool lora = LoraInjector.IsLoraName(name);
            if (!lora)
                Assert.True(parameter.grad is null, $"{name} (frozen) got a gradient");
        }
        Assert.Contains(LoraInjector.LoraParameters(model), p => p.Parameter.grad is { } g && g.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Norm_penalty_is_the_sum_of_products_of_frobenius_norms()
    {
        using LlamaForCausalLM model = LoraInjector.Build(TestModels.Config(layers: 1), new LoraOptions(2, 4, 0, ["q_proj", "v_proj"]), ScalarType.Float32, CPU, runSeed: 1);
        using (no_grad())
        {
            foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                layer.LoraB.fill_(0.5);
        }
        double expected = LoraInjector.LoraLayers(model).Sum(l => l.LoraA.norm().item<float>() * l.LoraB.norm().item<float>());
        Assert.Equal(expected, DriftRegularizer.NormPenalty(LoraInjector.LoraLayers(model)).item<float>(), 1e-4);
    }

    [Fact]
    public void Training_with_the_regularizer_lowers_measured_drift_against_training_without_it()
    {
        using var dir = new TempDirectory();
        // Larger random weights than usual: predictions that depend on the prompt, so perturbations move them.
        var baseModel = TestModels.RandomBase(dir.Path, std: 0.2);
        var robustness = new RobustnessSpec { Perturb = ["casing:heavy", "punctuation:heavy"], EvalExamples = 8, TopK = 2 };
        double Drift(double weight)
        {
            TrainSpec spec = TestModels.Spec(dir.File($"w{weight}"), method: "lora", steps: 40) with { Robustness = robustness with { Weight = weight } };
            using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data());
            for (int i = 0; i < 40; i++)
                run.TrainStep();
            return run.Evaluate().Drift!.Overall.Mean;
        }
        double without = Drift(0), with = Drift(2);
        output.WriteLine($"mean segment drift after 40 steps: {without:F4} nats without S2R2, {with:F4} with weight 2");
        Assert.True(with < 0.7 * without, $"drift with the regularizer {with:F4} vs without {without:F4}");
    }
}
