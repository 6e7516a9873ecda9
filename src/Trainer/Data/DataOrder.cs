using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Data;

/// <summary>
/// Which examples each optimizer step sees, on every rank. Each epoch is a seeded permutation (Fisher–Yates over
/// a Philox stream, identical on every platform); step s takes the next <c>globalBatch</c> examples of it (the
/// epoch's last batch may be shorter, so nothing is dropped); rank r of W takes the r-th contiguous block of the
/// step's batch (see <see cref="RankShare"/>). Every example is seen exactly once per epoch, by exactly one rank.
/// </summary>
public sealed class DataOrder
{
    private readonly long _key;
    private int _cachedEpoch = -1;
    private int[] _cachedPermutation = [];

    public DataOrder(int exampleCount, int globalBatch, long runSeed)
    {
        if (exampleCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(exampleCount), exampleCount, "the dataset is empty");
        if (globalBatch <= 0)
            throw new ArgumentOutOfRangeException(nameof(globalBatch), globalBatch, "the batch size must be positive");
        ExampleCount = exampleCount;
        GlobalBatch = globalBatch;
        _key = Seeding.Derive(runSeed, "data-order");
    }

    public int ExampleCount { get; }
    public int GlobalBatch { get; }
    public int StepsPerEpoch => (ExampleCount + GlobalBatch - 1) / GlobalBatch;

    /// <summary>Example indices of optimizer step <paramref name="step"/> (all ranks together).</summary>
    public int[] GlobalBatchAt(long step)
    {
        int epoch = checked((int)(step / StepsPerEpoch));
        int within = (int)(step % StepsPerEpoch);
        int[] permutation = Permutation(epoch);
        int start = within * GlobalBatch;
        return permutation.AsSpan(start, Math.Min(GlobalBatch, ExampleCount - start)).ToArray();
    }

    /// <summary>
    /// This rank's share of a step's batch: one contiguous block of it. Blocks (not strides) keep micro-batches
    /// aligned across world sizes: when a share divides by the micro-batch, one rank's micro-batches are exactly
    /// ranks 0..W−1's in turn, so a run resumed on fewer ranks sums the same per-micro-batch gradients in the same order.
    /// </summary>
    public static int[] RankShare(int[] globalBatch, int rank, int worldSize)
    {
        if (worldSize <= 0 || rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is outside a world of {worldSize}");
        int start = (int)((long)rank * globalBatch.Length / worldSize), end = (int)((long)(rank + 1) * globalBatch.Length / worldSize);
        return globalBatch[start..end];
    }

    /// <summary>Splits a share into forward passes of at most <paramref name="microBatch"/> examples.</summary>
    public static IEnumerable<int[]> MicroBatches(int[] share, int microBatch)
    {
        for (int start = 0; start < share.Length; start += microBatch)
            yield return share.AsSpan(start, Math.Min(microBatch, share.Length - start)).ToArray();
    }

    public int[] Permutation(int epoch)
    {
        if (epoch == _cachedEpoch)
            return _cachedPermutation;
        int[] order = Enumerable.Range(0, ExampleCount).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            (uint x0, uint x1, _, _) = Philox4x32.Block((uint)i, 0, (uint)epoch, 0x4F524452, (uint)_key, (uint)((ulong)_key >> 32));
            ulong random = ((ulong)x0 << 32) | x1;
            int j = (int)(random % (ulong)(i + 1));   // bias below 2^-32 for any dataset that fits in memory
            (order[i], order[j]) = (order[j], order[i]);
        }
        _cachedEpoch = epoch;
        _cachedPermutation = order;
        return order;
    }
}
