using FlatLora.Trainer.Flatness;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Flatness;

public class SharpnessProbeTests
{
    private static readonly LoraOptions Options = new(4, 8, 0, Spec.LoraSpec.DefaultTargets);

    // A small random model whose adapter is non-zero, so W' really differs from W.
    private static LlamaForCausalLM AdaptedModel()
    {
        LlamaForCausalLM model = LoraInjector.Build(TestModels.Config(), Options, float32, CPU, runSeed: 1);
        model.InitializeWeights(7, 0.05);
        var generator = new Generator(3);
        using (no_grad())
        {
            foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * 0.05);
        }
        model.eval();
        return model;
    }

    private static ModelFlatness Probe(LlamaForCausalLM model, FlatnessSettings settings) =>
        SharpnessProbe.Measure("m", null, model, TestModels.Data(eval: 8).Eval, padId: 0, microBatch: 4, settings);

    [Fact]
    public void Sigma_zero_gives_sharpness_zero_exactly()
    {
        using LlamaForCausalLM model = AdaptedModel();
        ModelFlatness flatness = Probe(model, new FlatnessSettings { Sigmas = [0, 0.05], Samples = 3, Directions = 0 });
        Assert.All(flatness.Sharpness[0].Samples, d => Assert.Equal(0.0, d));
        Assert.Equal(0.0, flatness.Sharpness[0].Mean);
        // The same path at σ > 0 does move the loss, so a probe that never perturbed would fail here.
        Assert.All(flatness.Sharpness[1].Samples, d => Assert.NotEqual(0.0, d));
    }

    [Fact]
    public void Probe_noise_row_std_is_sigma_times_merged_row_norm_over_sqrt_in()
    {
        using LlamaForCausalLM model = AdaptedModel();
        IReadOnlyList<LoraLinear> layers = LoraInjector.LoraLayers(model);
        using var noise = new ProbeNoise(layers, seed: 5);
        const double sigma = 0.1;
        noise.Sample(2, sigma);
        double ratioSum = 0;
        long rows = 0;
        for (int l = 0; l < layers.Count; l++)
        {
            using var scope = NewDisposeScope();
            Tensor merged = layers[l].Weight + layers[l].LoraB.matmul(layers[l].LoraA) * layers[l].Scale;
            Tensor expected = merged.pow(2).sum(1).sqrt() * (sigma / Math.Sqrt(layers[l].InFeatures));
            Tensor ratio = noise.Epsilon(l).std(1) / expected;
            ratioSum += ratio.sum().item<float>();
            rows += ratio.shape[0];
            // Each row: std of 32–72 normals, relative standard error ≤ 13 %; allow 45 %.
            Assert.InRange(ratio.min().item<float>(), 0.55, 1.45);
            Assert.InRange(ratio.max().item<float>(), 0.55, 1.45);
        }
        // Over all rows of all layers the ratio averages to 1 (about 1 % standard error here).
        Assert.InRange(ratioSum / rows, 0.96, 1.04);
    }

    [Fact]
    public void A_quadratic_loss_has_its_analytic_expected_sharpness()
    {
        // L(W) = ½‖X·Wᵀ − Y‖² with its minimum at W' (Y = X·W'ᵀ): L(W' + ε) − L(W') = ½‖X·εᵀ‖², whose expectation is
        // ½ Σ_ij Var(ε_ij)·‖X_:j‖² = σ²/(2·n_in)·‖W'‖²_F·‖X‖²_F, since Var(ε_ij) does not depend on j.
        const int inFeatures = 64, outFeatures = 16, samples = 200;
        using var layer = new LoraLinear("q", inFeatures, outFeatures, new LoraOptions(4, 8, 0, ["q"]), float32, CPU);
        var generator = new Generator(11);
        using Tensor x = randn([32, inFeatures], generator: generator);
        using (no_grad())
        {
            layer.Weight.copy_(randn(layer.Weight.shape, generator: generator) * 0.2);
            layer.LoraA.copy_(randn(layer.LoraA.shape, generator: generator) * 0.2);
            layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * 0.2);
        }
        using Tensor y = layer.forward(x).detach();
        double Loss()
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return (layer.forward(x) - y).pow(2).sum().item<float>() / 2;
        }
        const double sigma = 0.05;
        ModelFlatness flatness = SharpnessProbe.Measure("quadratic", null, [layer], Loss,
            new FlatnessSettings { Sigmas = [sigma], Samples = samples, Directions = 0 }, hessian: null);

        double mergedNormSquared, xNormSquared;
        using (var scope = NewDisposeScope())
        {
            mergedNormSquared = (layer.Weight + layer.LoraB.matmul(layer.LoraA) * layer.Scale).pow(2).sum().item<float>();
            xNormSquared = x.pow(2).sum().item<float>();
        }
        double analytic = sigma * sigma / (2.0 * inFeatures) * mergedNormSquared * xNormSquared;
        SharpnessEstimate estimate = flatness.Sharpness[0];
        Assert.InRange(analytic, estimate.Low, estimate.High);
        Assert.InRange(estimate.Mean / analytic, 0.95, 1.05);
        // The interval is informative: much narrower than the value itself.
        Assert.True(estimate.High - estimate.Low < 0.1 * analytic, $"CI [{estimate.Low}, {estimate.High}] vs {analytic}");
    }

    [Fact]
    public void A_quadratic_loss_has_its_analytic_top_hessian_eigenvalue()
    {
        // L(W) = ½‖X·Wᵀ − Y‖²: the Hessian in W is XᵀX on every row, so its top eigenvalue is λ_max(XᵀX).
        const int inFeatures = 12, outFeatures = 5;
        using var layer = new LoraLinear("q", inFeatures, outFeatures, new LoraOptions(2, 4, 0, ["q"]), float32, CPU);
        var generator = new Generator(12);
        using Tensor x = randn([40, inFeatures], generator: generator) * linspace(0.2, 2, inFeatures);
        using Tensor y = randn([40, outFeatures], generator: generator);
        IEnumerable<Tensor> Losses()
        {
            yield return (layer.forward(x.narrow(0, 0, 25)) - y.narrow(0, 0, 25)).pow(2).sum() / 2;
            yield return (layer.forward(x.narrow(0, 25, 15)) - y.narrow(0, 25, 15)).pow(2).sum() / 2;
        }
        HessianEstimate estimate = TopHessianEigenvalue.Estimate([layer.Weight], Losses, iterations: 60, seed: 1);
        Assert.Null(estimate.NotComputed);
        using Tensor gram = x.t().matmul(x).to(float64);
        double expected = linalg.eigvalsh(gram).max().item<double>();
        Assert.Equal(expected, estimate.TopEigenvalue!.Value, expected * 1e-3);
        Assert.False(layer.Weight.requires_grad);
    }

    [Fact]
    public void Probing_leaves_every_weight_bit_identical_and_the_projection_as_it_was()
    {
        using LlamaForCausalLM model = AdaptedModel();
        var all = model.named_parameters().Select(p => (Tensor)p.parameter).ToList();
        var before = TestModels.Snapshot(all);
        ulong digest = FrozenWeightDigest.Compute(model);
        var projections = LoraInjector.LoraLayers(model).Select(l => l.Projection).ToList();
        double lossBefore = Evaluator.Evaluate(model, TestModels.Data(eval: 8).Eval, 0, 4, 0).Loss;

        Probe(model, new FlatnessSettings { Sigmas = [0.05, 0.1], Samples = 3, Directions = 2, Points = 5, HessianIterations = 2 });

        for (int i = 0; i < all.Count; i++)
            Assert.True(TestModels.BitEqual(before[i], all[i]), $"parameter {i} changed");
        Assert.Equal(digest, FrozenWeightDigest.Compute(model));
        Assert.Equal(projections, LoraInjector.LoraLayers(model).Select(l => l.Projection).ToList());
        Assert.Equal(lossBefore, Evaluator.Evaluate(model, TestModels.Data(eval: 8).Eval, 0, 4, 0).Loss);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad && !LoraInjector.LoraParameters(model).Any(l => ReferenceEquals(l.Parameter, p))));
    }

    [Fact]
    public void The_same_seed_gives_the_same_figures_and_the_curve_passes_through_the_clean_loss()
    {
        using LlamaForCausalLM model = AdaptedModel();
        var settings = new FlatnessSettings { Sigmas = [0.05], Samples = 4, Directions = 2, Points = 5, Seed = 3 };
        ModelFlatness first = Probe(model, settings), second = Probe(model, settings);
        Assert.Equal(first.Sharpness[0].Samples, second.Sharpness[0].Samples);
        Assert.Equal(first.Curves[1].Losses, second.Curves[1].Losses);
        Assert.All(first.Curves, c => Assert.Equal(first.Loss, c.Losses[c.Alphas.ToList().IndexOf(0)]));
        // The curves really move the weights, and differ between directions.
        Assert.All(first.Curves, c => Assert.True(c.Losses.Max() - c.Losses.Min() > 1e-3));
        Assert.NotEqual(first.Curves[0].Losses, first.Curves[1].Losses);
        ModelFlatness other = Probe(model, settings with { Seed = 4 });
        Assert.NotEqual(first.Sharpness[0].Samples, other.Sharpness[0].Samples);
    }

    [Fact]
    public void The_top_hessian_eigenvalue_of_a_model_is_computed_reproducibly()
    {
        using LlamaForCausalLM model = AdaptedModel();
        var settings = new FlatnessSettings { Sigmas = [0.05], Samples = 2, Directions = 0, HessianIterations = 8 };
        ModelFlatness first = Probe(model, settings), second = Probe(model, settings);
        Assert.Null(first.Hessian.NotComputed);
        Assert.True(first.Hessian.TopEigenvalue > 0, $"λ = {first.Hessian.TopEigenvalue}");
        Assert.Equal(first.Hessian.TopEigenvalue, second.Hessian.TopEigenvalue);
        Assert.False(model.ExplicitAttention);
        Assert.Equal("not requested", Probe(model, settings with { HessianIterations = 0 }).Hessian.NotComputed);
    }

    [Fact]
    public void Bad_settings_are_refused_by_name()
    {
        using LlamaForCausalLM model = AdaptedModel();
        var e = Assert.Throws<ArgumentException>(() => Probe(model, new FlatnessSettings { Samples = 1 }));
        Assert.StartsWith("flatness.samples:", e.Message);
        e = Assert.Throws<ArgumentException>(() => Probe(model, new FlatnessSettings { Sigmas = [0.1, double.NaN] }));
        Assert.StartsWith("flatness.sigma:", e.Message);
        e = Assert.Throws<ArgumentException>(() => Probe(model, new FlatnessSettings { Points = 4 }));
        Assert.StartsWith("flatness.points:", e.Message);
    }
}
