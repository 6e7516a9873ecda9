using FlatLora.Trainer.Flat;
using FlatLora.Trainer.Lora;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Tests.Flat;

public class FlatLoraPerturbationTests
{
    private static LoraLinear RandomLayer(long inFeatures, long outFeatures, long seed, ScalarType dtype = ScalarType.Float32)
    {
        var layer = new LoraLinear("layer", inFeatures, outFeatures, new LoraOptions(4, 8, 0, ["layer"]), dtype, CPU);
        var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            layer.Weight.copy_(randn(layer.Weight.shape, generator: generator) * 0.05);
            layer.LoraA.copy_(randn(layer.LoraA.shape, generator: generator) * 0.1);
            layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * 0.1);
        }
        return layer;
    }

    private static Tensor ExplicitMergedWeight(LoraLinear layer) =>
        layer.Weight.to(float32) + layer.LoraB.matmul(layer.LoraA) * layer.Scale;

    [Fact]
    public void Schedule_rises_from_zero_to_rho_with_a_half_cosine()
    {
        Assert.Equal(0, FlatLoraSchedule.Sigma(0.05, 0, 100));
        Assert.Equal(0.025, FlatLoraSchedule.Sigma(0.05, 50, 100), 12);
        Assert.Equal(0.05, FlatLoraSchedule.Sigma(0.05, 100, 100), 12);
        Assert.True(FlatLoraSchedule.Sigma(0.05, 99, 100) < 0.05);
        Assert.Equal(0, FlatLoraSchedule.Sigma(0, 70, 100));
    }

    [Fact]
    public void Row_noise_std_matches_sigma_times_merged_row_norm_over_sqrt_in()
    {
        using var layer = RandomLayer(inFeatures: 8192, outFeatures: 12, seed: 1);
        using var perturbation = new FlatLoraPerturbation([layer], runSeed: 9, rho: 0.1, totalSteps: 10);
        double sigma = perturbation.BeginStep(5);
        Assert.Equal(0.05, sigma, 12);
        using Tensor epsilon = perturbation.Epsilon(0);                        // (12, 8192)
        using Tensor merged = ExplicitMergedWeight(layer);
        float[] expected = (merged.pow(2).sum(1).sqrt() * (sigma / Math.Sqrt(8192))).data<float>().ToArray();
        float[] std = epsilon.std(1).data<float>().ToArray();
        float[] mean = epsilon.mean([1]).data<float>().ToArray();
        for (int i = 0; i < 12; i++)
        {
            // std of a sample of 8192 normals: relative standard error 1/√(2·8192) ≈ 0.8%; allow 4%.
            Assert.InRange(std[i] / expected[i], 0.96, 1.04);
            Assert.InRange(mean[i] / expected[i], -0.05, 0.05);
        }
        // Rows really differ in scale, so the test would notice a single global scale.
        Assert.True(expected.Max() / expected.Min() > 1.05);
    }

    [Fact]
    public void Row_norms_come_from_W_A_and_B_without_forming_W_prime()
    {
        using var layer = RandomLayer(64, 48, seed: 2);
        using var perturbation = new FlatLoraPerturbation([layer], 1, rho: 1.0, totalSteps: 2);
        double sigma = perturbation.BeginStep(1);                              // σ = 1·½(1 − cos(π/2)) = 0.5
        using Tensor merged = ExplicitMergedWeight(layer);
        using Tensor expected = merged.pow(2).sum(1).div(64).sqrt() * sigma;
        Assert.True(expected.allclose(perturbation.Layer(0).RowScale, 1e-5, 1e-7));
    }

    [Fact]
    public void Same_seed_step_and_layer_give_the_same_noise_on_separate_instances()
    {
        using var a = RandomLayer(40, 24, seed: 3);
        using var b = RandomLayer(40, 24, seed: 3);
        using var pa = new FlatLoraPerturbation([a], runSeed: 77, rho: 0.05, totalSteps: 20);
        using var pb = new FlatLoraPerturbation([b], runSeed: 77, rho: 0.05, totalSteps: 20);
        pa.BeginStep(7);
        pb.BeginStep(7);
        using Tensor ea = pa.Epsilon(0), eb = pb.Epsilon(0);
        Assert.True(TestModels.BitEqual(ea, eb));
        Assert.Equal(pa.Fingerprint(7), pb.Fingerprint(7));

        pb.BeginStep(8);
        using Tensor nextStep = pb.Epsilon(0);
        Assert.False(ea.allclose(nextStep * (ea.std() / nextStep.std()), 1e-2, 1e-3));
        Assert.NotEqual(pa.Fingerprint(7).Hash, pb.Fingerprint(8).Hash);

        using var pc = new FlatLoraPerturbation([RandomLayer(40, 24, seed: 3)], runSeed: 78, rho: 0.05, totalSteps: 20);
        pc.BeginStep(7);
        using Tensor otherSeed = pc.Epsilon(0);
        Assert.False(TestModels.BitEqual(ea, otherSeed));
    }

    [Fact]
    public void Layers_draw_independent_noise()
    {
        using var a = RandomLayer(40, 24, seed: 3);
        using var b = RandomLayer(40, 24, seed: 3);
        using var p = new FlatLoraPerturbation([a, b], runSeed: 5, rho: 0.05, totalSteps: 20);
        p.BeginStep(3);
        using Tensor e0 = p.Epsilon(0), e1 = p.Epsilon(1);
        Assert.False(TestModels.BitEqual(e0, e1));
    }

    [Fact]
    public void Forward_and_backward_equal_autograd_through_an_explicit_W_plus_BA_plus_epsilon()
    {
        using var layer = RandomLayer(32, 20, seed: 4);
        using var perturbation = new FlatLoraPerturbation([layer], 3, rho: 0.2, totalSteps: 4);
        perturbation.BeginStep(2);
        var generator = new Generator(6);
        using Tensor input = randn([3, 5, 32], generator: generator);
        using Tensor upstream = randn([3, 5, 20], generator: generator);

        using Tensor x1 = input.clone().requires_grad_(true);
        using Tensor y1 = layer.forward(x1);
        (y1 * upstream).sum().backward();

        using Tensor epsilon = perturbation.Epsilon(0);
        using Tensor x2 = input.clone().requires_grad_(true);
        using Tensor a2 = layer.LoraA.detach().clone().requires_grad_(true);
        using Tensor b2 = layer.LoraB.detach().clone().requires_grad_(true);
        using Tensor y2 = F.linear(x2, layer.Weight + epsilon) + F.linear(F.linear(x2, a2), b2) * layer.Scale;
        (y2 * upstream).sum().backward();

        Assert.True(y1.allclose(y2, 1e-5, 1e-6));
        Assert.True(x1.grad!.allclose(x2.grad!, 1e-5, 1e-6));
        Assert.True(layer.LoraA.grad!.allclose(a2.grad!, 1e-5, 1e-6));
        Assert.True(layer.LoraB.grad!.allclose(b2.grad!, 1e-5, 1e-6));
        // And the noise matters: without it the output differs.
        using Tensor clean = F.linear(input, layer.Weight) + F.linear(F.linear(input, a2), b2) * layer.Scale;
        Assert.False(y1.allclose(clean, 1e-4, 1e-5));
    }

    [Fact]
    public void Zero_sigma_switches_nothing_on()
    {
        using var layer = RandomLayer(16, 8, seed: 5);
        using var perturbation = new FlatLoraPerturbation([layer], 1, rho: 0.05, totalSteps: 10);
        Assert.Equal(0, perturbation.BeginStep(0));
        Assert.Null(perturbation.ActiveStep);
        Assert.False(perturbation.Layer(0).IsActive);
        Assert.Equal(PerturbationFingerprint.Inactive(0), perturbation.Fingerprint(0));
    }

    [Fact]
    public void Backward_after_the_step_moved_on_is_refused()
    {
        using var layer = RandomLayer(16, 8, seed: 6);
        using var perturbation = new FlatLoraPerturbation([layer], 1, rho: 0.05, totalSteps: 10);
        perturbation.BeginStep(4);
        using Tensor x = ones(2, 16).requires_grad_(true);
        using Tensor y = layer.forward(x);
        perturbation.BeginStep(5);
        y.sum().backward();                                        // must not take the process down
        Assert.True(x.grad!.isnan().all().item<bool>());          // the gradient is poisoned...
        var error = Assert.Throws<InvalidOperationException>(perturbation.ThrowIfBackwardFaulted);  // ...and the fault raised
        Assert.Contains("changed from step 4 to step 5", error.Message);
        perturbation.ThrowIfBackwardFaulted();                     // raised once
    }
}
