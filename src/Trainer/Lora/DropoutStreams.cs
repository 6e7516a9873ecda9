using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Lora;

/// <summary>Where in a run a forward pass is: its dropout masks are a function of this and nothing else.</summary>
/// <param name="Pass">0 for a micro-batch's forward, 1 for S2R2's forward on the perturbed prompts.</param>
public readonly record struct DropoutPosition(long Step, int Rank, int MicroBatch, int Pass);

/// <summary>
/// LoRA dropout masks from the run's own counter-based stream (Philox, keyed by the run seed): the mask of layer l
/// at <see cref="Position"/> is the same on every device, in any process, after a resume and in a gradient
/// checkpointing recomputation. The process-global torch generator is never touched, so device threads of one silo
/// cannot change each other's masks.
/// </summary>
public sealed class DropoutStreams(long runSeed) : IForwardState
{
    private const int ChunkElements = 1 << 14;
    private const float TwoPow24Inverse = 1f / 16777216f;
    private readonly long _key = Seeding.Derive(runSeed, "lora-dropout");

    /// <summary>Set by the training loop before each forward pass.</summary>
    public DropoutPosition Position { get; set; }

    /// <summary>keep/(1−p) or 0 per element, (…shape) in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public unsafe Tensor Mask(int layer, long[] shape, double p, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        DropoutPosition at = Position;
        long key = Seeding.Derive(_key, "mask", at.Step, at.Rank, at.MicroBatch);
        uint streamB = (uint)at.Pass;
        Tensor mask = empty(shape, dtype: float32);
        long total = mask.numel();
        float keepScale = (float)(1 / (1 - p));
        float probability = (float)p;
        IntPtr data = total == 0 ? IntPtr.Zero : HostMemory.Address(mask);
        long chunks = (total + ChunkElements - 1) / ChunkElements;
        // Counter-based: chunks are independent, so threads may fill them in any order with identical results.
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks > 1 ? -1 : 1 }, chunk =>
        {
            long start = chunk * ChunkElements;
            int length = (int)Math.Min(ChunkElements, total - start);
            Fill(new Span<float>((float*)data + start, length), start, key, (uint)layer, streamB, probability, keepScale);
        });
        return mask.to(dtype).to(device).MoveToOuterDisposeScope();
    }

    /// <summary>Element n keeps when its uniform u = (Philox word n) / 2³² (top 24 bits) is at least p.</summary>
    internal static void Fill(Span<float> destination, long start, long key, uint streamA, uint streamB, float p, float keepScale)
    {
        for (int i = 0; i < destination.Length;)
        {
            long index = start + i;
            long block = index >> 2;
            (uint x0, uint x1, uint x2, uint x3) = Philox4x32.Block((uint)block, (uint)((ulong)block >> 32), streamA, streamB, (uint)key, (uint)((ulong)key >> 32));
            for (int lane = (int)(index & 3); lane < 4 && i < destination.Length; lane++, i++)
            {
                uint word = lane switch { 0 => x0, 1 => x1, 2 => x2, _ => x3 };
                destination[i] = (word >> 8) * TwoPow24Inverse >= p ? keepScale : 0f;
            }
        }
    }

    object IForwardState.Capture() => Position;

    void IForwardState.Restore(object captured) => Position = (DropoutPosition)captured;
}
