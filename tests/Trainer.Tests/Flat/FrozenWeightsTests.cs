using FlatLora.Spec;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Flat;

public class FrozenWeightsTests
{
    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void Frozen_weights_are_bit_identical_after_50_flat_lora_steps(string dtype)
    {
        using var dir = new TempDirectory();
        ScalarType scalar = dtype == "bfloat16" ? bfloat16 : float32;
        var baseModel = TestModels.RandomBase(dir.Path, dtype: scalar);
        var spec = TestModels.Spec(dir.File("run"), method: "flat", rho: 0.1, steps: 50, dtype: dtype);
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data(), new RunOptions());
        var frozen = run.Model.named_parameters().Where(p => !LoraInjector.IsLoraName(p.name)).Select(p => (Tensor)p.parameter).ToList();
        var before = TestModels.Snapshot(frozen);
        ulong digest = FrozenWeightDigest.Compute(run.Model);
        for (int i = 0; i < 50; i++)
        {
            StepReport report = run.TrainStep();
            if (i > 0)
                Assert.True(report.Figures.Sigma > 0);
        }
        for (int i = 0; i < frozen.Count; i++)
            Assert.True(TestModels.BitEqual(before[i], frozen[i]), $"frozen tensor {i} changed");
        Assert.Equal(digest, FrozenWeightDigest.Compute(run.Model));
        // LoRA did train.
        Assert.Contains(run.LoraParameters, p => p.shape[1] == 4 && p.abs().max().item<float>() > 0);
    }

    [Fact]
    public void The_reference_add_then_subtract_method_drifts_in_bf16()
    {
        // What our method avoids, measured with the same noise: W += ε before forward, W −= ε after backward.
        var layer = new LoraLinear("q", 256, 128, new LoraOptions(4, 8, 0, ["q"]), bfloat16, CPU);
        using (no_grad())
            layer.Weight.copy_(randn(layer.Weight.shape, generator: new Generator(1)).to(bfloat16) * 0.05);
        using Tensor original = layer.Weight.detach().clone();
        using var perturbation = new Trainer.Flat.FlatLoraPerturbation([layer], 1, rho: 0.05, totalSteps: 12);
        for (long step = 1; step <= 11; step++)
        {
            perturbation.BeginStep(step);
            using Tensor epsilon = perturbation.Epsilon(0).to(bfloat16);
            using (no_grad())
            {
                layer.Weight.add_(epsilon);
                layer.Weight.sub_(epsilon);
            }
        }
        float drift = (layer.Weight.to(float32) - original.to(float32)).abs().max().item<float>();
        Assert.True(drift > 1e-4, $"expected visible drift, got {drift}");
    }
}
