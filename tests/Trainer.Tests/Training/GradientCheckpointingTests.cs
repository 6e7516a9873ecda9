using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Training;

/// <summary>Recomputing each decoder layer in backward must not change the training math.</summary>
public sealed class GradientCheckpointingTests
{
    [Theory]
    [InlineData("lora", 0.0, false)]
    [InlineData("flat", 0.0, false)]
    [InlineData("flat", 0.1, false)]   // dropout: the recomputation must see forward's masks
    [InlineData("flat", 0.0, true)]    // S2R2: a second (perturbed) forward through the same layers
    public void Checkpointed_training_matches_plain_training(string method, double dropout, bool robustness)
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        var data = TestModels.Data();
        TrainSpec Spec(bool checkpointing)
        {
            TrainSpec spec = TestModels.Spec(dir.File($"run-{checkpointing}"), method: method, steps: 4, dropout: dropout);
            spec = spec with { Training = spec.Training with { GradientCheckpointing = checkpointing } };
            return robustness ? spec with { Robustness = new RobustnessSpec { Weight = 1, NormWeight = 0.01, Perturb = ["typo:heavy"] } } : spec;
        }

        (List<Tensor> plain, List<double> plainLosses) = Train(Spec(checkpointing: false), baseModel, data);
        (List<Tensor> checkpointed, List<double> checkpointedLosses) = Train(Spec(checkpointing: true), baseModel, data);

        Assert.Equal(plain.Count, checkpointed.Count);
        for (int i = 0; i < plain.Count; i++)
        {
            double scale = plain[i].abs().max().item<float>();
            double difference = (plain[i] - checkpointed[i]).abs().max().item<float>();
            Assert.True(difference <= 1e-5 * Math.Max(scale, 1e-3), $"LoRA parameter {i}: max |Δ| {difference} (scale {scale})");
        }
        for (int step = 0; step < plainLosses.Count; step++)
            Assert.Equal(plainLosses[step], checkpointedLosses[step], 5);
        // The runs moved the adapter at all: equal results are not two untouched initialisations.
        Assert.True(plainLosses[^1] < plainLosses[0], $"loss {plainLosses[0]} -> {plainLosses[^1]}");
    }

    [Fact]
    public void Checkpointing_keeps_frozen_weights_bit_identical_and_gives_gradients_only_to_lora()
    {
        using var dir = new TempDirectory();
        TrainSpec spec = TestModels.Spec(dir.File("run"), method: "flat", steps: 2);
        spec = spec with { Training = spec.Training with { GradientCheckpointing = true } };
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), TestModels.RandomBase(dir.Path), TestModels.Data());
        var frozen = run.Model.named_parameters().Where(p => !LoraInjector.IsLoraName(p.name)).ToList();
        List<Tensor> before = TestModels.Snapshot(frozen.Select(p => (Tensor)p.parameter));
        run.TrainStep();
        run.TrainStep();
        for (int i = 0; i < frozen.Count; i++)
        {
            Assert.True(TestModels.BitEqual(before[i], frozen[i].parameter), frozen[i].name);
            Assert.True(frozen[i].parameter.grad is null, $"{frozen[i].name} got a gradient");
        }
    }

    private static (List<Tensor> Lora, List<double> Losses) Train(TrainSpec spec, BaseModel baseModel, TrainingData data)
    {
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, data);
        var losses = new List<double>();
        for (int step = 0; step < spec.Training.MaxSteps; step++)
            losses.Add(run.TrainStep().Figures.Loss);
        return (TestModels.Snapshot(run.LoraParameters), losses);
    }
}
