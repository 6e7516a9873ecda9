using System.Runtime.CompilerServices;

namespace FlatLora.Trainer.Determinism;

/// <summary>
/// Standard normal samples addressed by (key, stream, element index): element n of stream (a, b) is always the
/// same float, whoever computes it. Philox block ⌊n/4⌋ gives four uniforms; Box–Muller turns each pair into two
/// normals with <see cref="PortableMath"/>, so the values do not depend on the platform's libm.
/// </summary>
public readonly record struct CounterNormal(long Key, uint StreamA, uint StreamB)
{
    private const float TwoPow24Inverse = 1f / 16777216f;

    /// <summary>The normal at one element index.</summary>
    public float At(long index)
    {
        Span<float> four = stackalloc float[4];
        Block(index >> 2, four);
        return four[(int)(index & 3)];
    }

    /// <summary>Fills <paramref name="destination"/> with elements <paramref name="start"/>, start+1, ...</summary>
    public unsafe void Fill(Span<float> destination, long start) => Fill(destination, start, CounterNormalAvx2.IsSupported);

    /// <summary>As <see cref="Fill(Span{float}, long)"/>, choosing the vector path explicitly (tests compare the two).</summary>
    internal unsafe void Fill(Span<float> destination, long start, bool vectorized)
    {
        Span<float> four = stackalloc float[4];
        long index = start;
        int written = 0;
        // Head: the start may sit inside a block of four.
        if ((index & 3) != 0)
        {
            Block(index >> 2, four);
            for (int j = (int)(index & 3); j < 4 && written < destination.Length; j++)
                destination[written++] = four[j];
            index = start + written;
        }
        int vectorBlocks = vectorized && CounterNormalAvx2.IsSupported ? (destination.Length - written) / 16 * 4 : 0;
        if (vectorBlocks > 0)
        {
            fixed (float* output = destination.Slice(written))
                CounterNormalAvx2.FillBlocks(this, index >> 2, vectorBlocks, output);
            written += vectorBlocks * 4;
            index += vectorBlocks * 4;
        }
        while (destination.Length - written >= 4)
        {
            Block(index >> 2, destination.Slice(written, 4));
            written += 4;
            index += 4;
        }
        if (written < destination.Length)
        {
            Block(index >> 2, four);
            for (int j = 0; written < destination.Length; j++)
                destination[written++] = four[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Block(long block, Span<float> output)
    {
        (uint x0, uint x1, uint x2, uint x3) = Philox4x32.Block(
            (uint)block, (uint)((ulong)block >> 32), StreamA, StreamB, (uint)Key, (uint)((ulong)Key >> 32));
        (output[0], output[1]) = BoxMuller(x0, x1);
        (output[2], output[3]) = BoxMuller(x2, x3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float) BoxMuller(uint a, uint b)
    {
        float u1 = 1f - (a >> 8) * TwoPow24Inverse;       // (0, 1]: exact in float, never 0 so ln is finite
        float u2 = (b >> 8) * TwoPow24Inverse;            // [0, 1)
        float radius = MathF.Sqrt(-2f * PortableMath.Log(u1));   // sqrt is correctly rounded everywhere
        (float cos, float sin) = PortableMath.CosSinTurns(u2);
        return (radius * cos, radius * sin);
    }
}
