using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Determinism;

/// <summary>Materialises a block of a <see cref="CounterNormal"/> stream as a float32 tensor.</summary>
internal static class NoiseFill
{
    private const int ChunkElements = 1 << 14;

    /// <summary>Standard normals for elements 0..rows·cols−1 of the stream, shaped (rows, cols), on the CPU.</summary>
    public static unsafe Tensor StandardNormal(CounterNormal stream, long rows, long cols)
    {
        Tensor z = empty(rows, cols, dtype: float32);
        long total = rows * cols;
        IntPtr data = total == 0 ? IntPtr.Zero : HostMemory.Address(z);
        long chunks = (total + ChunkElements - 1) / ChunkElements;
        // Counter-based: chunks are independent, so threads may fill them in any order with identical results.
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks > 1 ? -1 : 1 }, chunk =>
        {
            long start = chunk * ChunkElements;
            int length = (int)Math.Min(ChunkElements, total - start);
            stream.Fill(new Span<float>((float*)data + start, length), start);
        });
        return z;
    }
}
