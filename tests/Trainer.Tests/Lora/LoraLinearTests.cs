using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Lora;

public class LoraLinearTests
{
    private static readonly LoraOptions Options = new(4, 8, 0, LoraInjector_DefaultTargets);
    private static IReadOnlyList<string> LoraInjector_DefaultTargets => Spec.LoraSpec.DefaultTargets;

    [Fact]
    public void With_B_zero_the_model_outputs_exactly_the_base_model()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = TestModels.RandomBase(dir.Path);
        using var plain = new LlamaForCausalLM(baseModel.Config, float32, CPU);
        WeightLoader.LoadBaseWeights(plain, baseModel.WeightFiles);
        using var lora = LoraInjector.Build(baseModel.Config, Options, float32, CPU, runSeed: 1);
        WeightLoader.LoadBaseWeights(lora, baseModel.WeightFiles);
        using var ids = tensor(new long[] { 256, 1, 2, 3, 4, 5, 6, 7 }, [2, 4]);
        using Tensor expected = plain.forward(ids), actual = lora.forward(ids);
        Assert.True(TestModels.BitEqual(expected, actual));
    }

    [Fact]
    public void Only_lora_parameters_train_and_they_are_fp32_over_a_bf16_base()
    {
        using var model = LoraInjector.Build(TestModels.Config(), Options, bfloat16, CPU, runSeed: 1);
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.Equal(LoraInjector.IsLoraName(name), p.requires_grad);
            Assert.Equal(LoraInjector.IsLoraName(name) ? float32 : bfloat16, p.dtype);
        }
        Assert.Equal(2 * 7 * 2, LoraInjector.LoraParameters(model).Count);
    }

    [Fact]
    public void Init_follows_peft_and_is_seeded()
    {
        using var a = LoraInjector.Build(TestModels.Config(), Options, float32, CPU, runSeed: 1);
        using var b = LoraInjector.Build(TestModels.Config(), Options, float32, CPU, runSeed: 1);
        using var c = LoraInjector.Build(TestModels.Config(), Options, float32, CPU, runSeed: 2);
        var la = LoraInjector.LoraLayers(a);
        var lb = LoraInjector.LoraLayers(b);
        var lc = LoraInjector.LoraLayers(c);
        for (int i = 0; i < la.Count; i++)
        {
            double bound = 1 / Math.Sqrt(la[i].InFeatures);
            Assert.True(la[i].LoraA.abs().max().item<float>() <= bound);
            Assert.True(la[i].LoraA.abs().max().item<float>() > bound / 2);
            Assert.Equal(0, la[i].LoraB.abs().max().item<float>());
            Assert.True(TestModels.BitEqual(la[i].LoraA, lb[i].LoraA));
            Assert.False(TestModels.BitEqual(la[i].LoraA, lc[i].LoraA));
        }
        Assert.False(TestModels.BitEqual(la[0].LoraA, la[1].LoraA.narrow(0, 0, la[1].LoraA.shape[0]).narrow(1, 0, la[0].LoraA.shape[1])));
    }

    [Fact]
    public void Merged_equals_unmerged_within_rounding_and_unmerge_restores()
    {
        using var model = LoraInjector.Build(TestModels.Config(), Options, float32, CPU, runSeed: 3);
        model.InitializeWeights(4);
        var generator = new Generator(5);
        using (no_grad())
        {
            foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * 0.1);
        }
        model.eval();
        using var ids = tensor(new long[] { 256, 9, 8, 7, 6, 5 }, [1, 6]);
        using Tensor unmerged = model.forward(ids);
        var before = TestModels.Snapshot(LoraInjector.LoraLayers(model).Select(l => (Tensor)l.Weight));
        foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
            layer.Merge();
        using Tensor merged = model.forward(ids);
        Assert.True(unmerged.allclose(merged, 1e-4, 1e-5), $"max diff {(unmerged - merged).abs().max().item<float>()}");
        Assert.Throws<InvalidOperationException>(() => LoraInjector.LoraLayers(model)[0].Merge());
        foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
            layer.Unmerge();
        var after = LoraInjector.LoraLayers(model).Select(l => (Tensor)l.Weight).ToList();
        for (int i = 0; i < before.Count; i++)
            Assert.True(before[i].allclose(after[i], 1e-5, 1e-6));
    }
}
