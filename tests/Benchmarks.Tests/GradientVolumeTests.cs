using FlatLora.Benchmarks.Training;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tasks;
using static TorchSharp.torch;

namespace FlatLora.Benchmarks.Tests;

public class GradientVolumeTests
{
    [Theory]
    [InlineData(4, new[] { "q_proj", "v_proj" })]
    [InlineData(8, new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    public void Counts_match_the_parameters_of_a_built_model(int rank, string[] targets)
    {
        LlamaConfig config = TinyShiftTask.ModelConfig;
        using LlamaForCausalLM model = LoraInjector.Build(config, new LoraOptions(rank, 2 * rank, 0, targets), ScalarType.Float32, CPU, runSeed: 1);
        long lora = LoraInjector.LoraParameters(model).Sum(p => p.Parameter.numel());
        long frozen = model.parameters().Sum(p => p.numel()) - lora;

        GradientVolume volume = GradientVolume.For(config, rank, targets);
        Assert.Equal(lora, volume.LoraParameters);
        Assert.Equal(frozen, volume.FullParameters);
    }

    [Fact]
    public void A_ring_sends_two_times_w_minus_one_over_w_of_the_buffer_per_rank()
    {
        Assert.Equal(0, GradientVolume.BytesPerRank(1000, 1));
        Assert.Equal(4000, GradientVolume.BytesPerRank(1000, 2));
        Assert.Equal(6000, GradientVolume.BytesPerRank(1000, 4));
    }

    [Fact]
    public void An_unknown_target_is_named()
    {
        var error = Assert.Throws<ArgumentException>(() => GradientVolume.For(TinyShiftTask.ModelConfig, 8, ["qkv"]));
        Assert.Contains("'qkv'", error.Message);
    }
}
