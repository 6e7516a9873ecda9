using System.Net;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Collectives.Tests;

/// <summary>bf16 on the wire: half the bytes, values rounded to nearest even, ranks still bit-identical.</summary>
public class BFloat16WireTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Rounding_is_to_nearest_even_and_keeps_nan_and_infinity()
    {
        float[] values = [1f, 1f + 1f / 256, 1f + 3f / 256, 1f + 1f / 512, -2.5f, float.PositiveInfinity, float.NaN, 3.14159f];
        BFloat16Wire.RoundInPlace(values);
        Assert.Equal(1f, values[0]);
        Assert.Equal(1f, values[1]);                  // halfway between 1 and 1+2^-7: ties go to the even one, 1
        Assert.Equal(1f + 4f / 256, values[2]);       // halfway between 1+2^-7 and 1+2^-6: even is 1+2^-6
        Assert.Equal(1f, values[3]);
        Assert.Equal(-2.5f, values[4]);
        Assert.Equal(float.PositiveInfinity, values[5]);
        Assert.True(float.IsNaN(values[6]));
        Assert.Equal(3.140625f, values[7]);
        ushort[] narrow = new ushort[values.Length];
        float[] back = new float[values.Length];
        BFloat16Wire.Narrow(values, narrow);
        BFloat16Wire.Widen(narrow, back);
        Assert.Equal(values, back);   // narrowing a rounded value loses nothing
    }

    [Fact]
    public async Task Three_hosts_sum_in_bf16_with_half_the_bytes_and_identical_results()
    {
        const int world = 3, length = 300_001;
        (float[][] fp32, long fp32Bytes) = await SumAsync(WireFormat.Fp32, world, length);
        (float[][] bf16, long bf16Bytes) = await SumAsync(WireFormat.Bf16, world, length);
        Assert.All(bf16.Skip(1), b => Assert.Equal(bf16[0], b));
        double worst = 0;
        for (int i = 0; i < length; i++)
        {
            // Relative to the sum of magnitudes: the terms' signs differ, so a sum can cancel to almost nothing.
            double magnitude = Enumerable.Range(0, world).Sum(r => Math.Abs(Value(r, i)));
            worst = Math.Max(worst, Math.Abs(bf16[0][i] - fp32[0][i]) / magnitude);
        }
        // Each value is rounded W times on the way (its own, the partial sums, the final sum), each by at most 2^-8 (bf16 keeps 8 bits).
        Assert.True(worst is > 0 and < 3.0 / 256, $"worst relative error {worst:E2}");
        Assert.InRange(bf16Bytes / (double)fp32Bytes, 0.49, 0.51);
    }

    private static float Value(int rank, int i) => MathF.Sin(i * 0.37f + rank) * (1 + rank);

    private static async Task<(float[][] Buffers, long BytesSent)> SumAsync(WireFormat wire, int world, int length)
    {
        var inboxes = Enumerable.Range(0, world).Select(_ => new GradientInbox()).ToArray();
        var listeners = inboxes.Select(i => DataPlaneListener.Start(i, new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        byte[] secret = [(byte)wire, 1, 2];
        float[][] buffers = Enumerable.Range(0, world).Select(r => Enumerable.Range(0, length).Select(i => Value(r, i)).ToArray()).ToArray();
        var transports = Enumerable.Range(0, world).Select(r => new TcpRingTransport(listeners[(r + 1) % world].LocalEndpoint,
            new RingEdge("exp/bf16", 1, r, (r + 1) % world, secret), Timeout, maxSliceFloats: 40_000, wire: wire)).ToArray();
        var rings = Enumerable.Range(0, world).Select(r => new RingAllReduce(inboxes[r].Register("exp/bf16", 1, r, world, secret), transports[r],
            Timeout, sliceFloats: 40_000, wire: wire)).ToArray();
        try
        {
            await Task.WhenAll(rings.Select((ring, r) => Task.Run(() => ring.Sum(0, 0, buffers[r], 5, CancellationToken.None)))).WaitAsync(TimeSpan.FromMinutes(1));
            return (buffers, transports.Sum(t => t.BytesSent));
        }
        finally
        {
            foreach (RingAllReduce ring in rings)
                ring.Dispose();
            foreach (DataPlaneListener listener in listeners)
                listener.Dispose();
        }
    }
}
