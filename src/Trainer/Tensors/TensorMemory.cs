using System.Buffers;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tensors;

/// <summary>
/// A float32 CPU tensor's storage as <see cref="Memory{T}"/>, so code that works on managed buffers (the gradient ring,
/// whose sending thread holds the memory across calls) can use it in place. The tensor must outlive the memory.
/// </summary>
internal sealed unsafe class TensorMemory(Tensor tensor) : MemoryManager<float>
{
    private readonly IntPtr _address = HostMemory.Address(tensor);
    private readonly int _length = checked((int)tensor.numel());

    public override Span<float> GetSpan() => new((void*)_address, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new((float*)_address + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
