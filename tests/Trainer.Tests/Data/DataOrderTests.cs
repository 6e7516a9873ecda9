using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Tests.Data;

public class DataOrderTests
{
    [Theory]
    [InlineData(103, 16, 1)]
    [InlineData(103, 16, 2)]
    [InlineData(103, 15, 3)]
    [InlineData(7, 8, 4)]
    public void Every_example_is_seen_once_per_epoch_by_exactly_one_rank(int examples, int batch, int world)
    {
        var order = new DataOrder(examples, batch, runSeed: 5);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var seen = new List<int>();
            for (long step = epoch * order.StepsPerEpoch; step < (epoch + 1) * order.StepsPerEpoch; step++)
            {
                int[] global = order.GlobalBatchAt(step);
                var shares = Enumerable.Range(0, world).Select(r => DataOrder.RankShare(global, r, world)).ToList();
                Assert.Equal(global.Order(), shares.SelectMany(s => s).Order());
                seen.AddRange(shares.SelectMany(s => s));
            }
            Assert.Equal(Enumerable.Range(0, examples), seen.Order());
        }
    }

    [Fact]
    public void Rank_shares_are_contiguous_blocks_so_micro_batches_line_up_across_world_sizes()
    {
        int[] global = [10, 11, 12, 13, 14, 15, 16, 17];
        var single = DataOrder.MicroBatches(DataOrder.RankShare(global, 0, 1), 2).ToList();
        var pair = Enumerable.Range(0, 2).SelectMany(r => DataOrder.MicroBatches(DataOrder.RankShare(global, r, 2), 2)).ToList();
        Assert.Equal(single, pair);
        Assert.Equal([12, 13, 14], DataOrder.RankShare(global, 1, 3));   // uneven: sizes 2, 3, 3
    }

    [Fact]
    public void Order_is_seeded_and_changes_per_epoch()
    {
        var a = new DataOrder(50, 10, 1);
        var b = new DataOrder(50, 10, 1);
        var c = new DataOrder(50, 10, 2);
        Assert.Equal(a.Permutation(0), b.Permutation(0));
        Assert.NotEqual(a.Permutation(0), c.Permutation(0));
        Assert.NotEqual(a.Permutation(0), a.Permutation(1));
        Assert.NotEqual(Enumerable.Range(0, 50), a.Permutation(0));
    }

    [Fact]
    public void Micro_batches_split_a_share_in_order()
    {
        var parts = DataOrder.MicroBatches([1, 2, 3, 4, 5], 2).ToList();
        Assert.Equal([[1, 2], [3, 4], [5]], parts);
    }
}
