using FlatLora.Trainer.Lora;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Lora;

public class DropoutStreamsTests
{
    private static Tensor Mask(DropoutStreams streams, DropoutPosition at, int layer = 0, double p = 0.25)
    {
        streams.Position = at;
        return streams.Mask(layer, [64, 32, 48], p, float32, CPU);
    }

    [Fact]
    public void Masks_drop_a_p_share_and_scale_the_rest_by_one_over_one_minus_p()
    {
        using Tensor mask = Mask(new DropoutStreams(7), new DropoutPosition(3, 0, 1, 0));
        float[] values = mask.data<float>().ToArray();
        double dropped = values.Count(v => v == 0) / (double)values.Length;
        Assert.InRange(dropped, 0.24, 0.26);   // 98,304 draws: the standard error of the share is 0.0014
        Assert.All(values.Where(v => v != 0), v => Assert.Equal(1f / 0.75f, v));
    }

    [Fact]
    public async Task A_mask_depends_on_its_position_and_layer_only()
    {
        var a = new DropoutStreams(7);
        var b = new DropoutStreams(7);
        var at = new DropoutPosition(3, 1, 2, 0);
        using Tensor first = Mask(a, at), again = Mask(b, at);
        Assert.True(TestModels.BitEqual(first, again));
        // Drawn on another thread, after other draws: the same.
        using Tensor elsewhere = await Task.Run(() => { Mask(b, at with { Step = 9 }).Dispose(); return Mask(b, at); });
        Assert.True(TestModels.BitEqual(first, elsewhere));
        foreach (DropoutPosition other in new[] { at with { Step = 4 }, at with { Rank = 0 }, at with { MicroBatch = 3 }, at with { Pass = 1 } })
        {
            using Tensor different = Mask(a, other);
            Assert.False(TestModels.BitEqual(first, different), $"{other} gave the same mask");
        }
        using Tensor otherLayer = Mask(a, at, layer: 1);
        using Tensor otherSeed = Mask(new DropoutStreams(8), at);
        Assert.False(TestModels.BitEqual(first, otherLayer));
        Assert.False(TestModels.BitEqual(first, otherSeed));
    }
}
