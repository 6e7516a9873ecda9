namespace FlatLora.Collectives.Tests;

/// <summary>The pipelined ring over the in-process transport: exact sums, identical on every rank, for any slicing.</summary>
public class RingAllReduceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    internal static float[][] Buffers(int world, int length) =>
        Enumerable.Range(0, world).Select(r => Enumerable.Range(0, length).Select(i => (float)(r * 100 + i % 1000)).ToArray()).ToArray();

    internal static float Expected(int world, int i) => Enumerable.Range(0, world).Sum(r => (float)(r * 100 + i % 1000));

    [Theory]
    [InlineData(4, 10, 1024)]      // 10 does not divide by 4: uneven chunks, one slice each
    [InlineData(3, 10_007, 64)]     // many slices per chunk, and a short last slice
    [InlineData(5, 3, 8)]           // fewer values than ranks: empty chunks still carry a frame
    [InlineData(2, 100_000, 4096)]
    public async Task W_ranks_sum_exactly_and_identically(int world, int length, int sliceFloats)
    {
        var inbox = new GradientInbox();
        float[][] buffers = Buffers(world, length);
        var rings = Enumerable.Range(0, world).Select(r => new RingAllReduce(inbox.Register("exp/9", 1, r, world, [5]),
            new InProcessRingTransport(inbox, "exp/9", 1, r, (r + 1) % world, Timeout), Timeout, sliceFloats)).ToArray();
        // Two steps and two buckets each: the keys keep every collective apart.
        for (int step = 0; step < 2; step++)
        {
            for (int bucket = 0; bucket < 2; bucket++)
            {
                float[][] data = Buffers(world, length);
                await Task.WhenAll(rings.Select((ring, r) => Task.Run(() => ring.Sum(step, bucket, data[r], 7, CancellationToken.None)))).WaitAsync(Timeout);
                buffers = data;
            }
        }
        for (int i = 0; i < length; i++)
            Assert.Equal(Expected(world, i), buffers[0][i]);
        Assert.All(buffers.Skip(1), b => Assert.Equal(buffers[0], b));
        foreach (RingAllReduce ring in rings)
            ring.Dispose();
    }

    [Fact]
    public async Task Ranks_with_different_hashes_stop_naming_both()
    {
        var inbox = new GradientInbox();
        var rings = Enumerable.Range(0, 2).Select(r => new RingAllReduce(inbox.Register("exp/f", 1, r, 2, [5]),
            new InProcessRingTransport(inbox, "exp/f", 1, r, 1 - r, Timeout), Timeout)).ToArray();
        var sums = Enumerable.Range(0, 2).Select(r => Task.Run(() => rings[r].Sum(0, 0, new float[100], (ulong)(10 + r), CancellationToken.None))).ToArray();
        var error = await Assert.ThrowsAsync<FingerprintMismatchException>(() => sums[0].WaitAsync(Timeout));
        Assert.Contains("rank 1", error.Message);
        Assert.Contains("rank 0", error.Message);
        foreach (RingAllReduce ring in rings)
            ring.Dispose();
    }
}
