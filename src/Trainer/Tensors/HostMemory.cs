using TorchSharp;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tensors;

/// <summary>Direct access to the memory of contiguous CPU tensors (for fills and file IO without extra copies).</summary>
internal static class HostMemory
{
    /// <summary>The address of element 0 of a contiguous CPU tensor (null for an empty one).</summary>
    /// <remarks>
    /// <c>storage&lt;T&gt;()</c> returns a converted copy when T differs from the dtype, and <c>bytes</c> stops at 2 GB,
    /// so the address comes from the <c>bytes</c> span of a one-element view, which points into the tensor itself.
    /// </remarks>
    public static unsafe IntPtr Address(Tensor t)
    {
        if (t.device.type != DeviceType.CPU)
            throw new ArgumentException($"expected a CPU tensor, got one on {t.device}", nameof(t));
        if (!t.is_contiguous())
            throw new ArgumentException("expected a contiguous tensor", nameof(t));
        if (t.numel() == 0)
            return IntPtr.Zero;
        using Tensor flat = t.reshape(-1);
        using Tensor first = flat.narrow(0, 0, 1);
        fixed (byte* data = first.bytes)
            return (IntPtr)data;
    }

    /// <summary><paramref name="length"/> floats from element <paramref name="start"/> of a float32 CPU tensor.</summary>
    public static unsafe Span<float> Floats(Tensor t, long start, int length)
    {
        if (t.dtype != ScalarType.Float32)
            throw new ArgumentException($"expected float32, got {t.dtype}", nameof(t));
        if (start < 0 || length < 0 || start + length > t.numel())
            throw new ArgumentOutOfRangeException(nameof(start), $"range {start}+{length} outside {t.numel()} elements");
        return new Span<float>((float*)Address(t) + start, length);
    }
}
