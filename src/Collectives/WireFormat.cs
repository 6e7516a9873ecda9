using System.Runtime.InteropServices;

namespace FlatLora.Collectives;

/// <summary>How gradient values travel between ranks.</summary>
public enum WireFormat : byte
{
    /// <summary>fp32: the sum is exactly what one rank would compute with the whole batch, up to summation order.</summary>
    Fp32 = 0,

    /// <summary>
    /// bfloat16: half the bytes. Every value is rounded to bf16 (round to nearest even) each time it is sent, so the
    /// sum is no longer the fp32 one (relative error about 2^-8 per hop); the ranks still agree bit for bit.
    /// </summary>
    Bf16 = 1,
}

/// <summary>bfloat16 conversions for the wire: a bf16 is the upper half of a float32.</summary>
public static class BFloat16Wire
{
    public static int BytesPerValue(WireFormat wire) => wire == WireFormat.Bf16 ? sizeof(ushort) : sizeof(float);

    /// <summary>Rounds each value to the nearest bf16 (ties to even), in place, keeping NaN a NaN.</summary>
    public static void RoundInPlace(Span<float> values)
    {
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(values);
        for (int i = 0; i < bits.Length; i++)
            bits[i] = (uint)Round(bits[i]) << 16;
    }

    /// <summary>The upper halves of values already rounded by <see cref="RoundInPlace"/> (exact: nothing is lost).</summary>
    public static void Narrow(ReadOnlySpan<float> rounded, Span<ushort> destination)
    {
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(rounded);
        for (int i = 0; i < bits.Length; i++)
            destination[i] = (ushort)(bits[i] >> 16);
    }

    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        for (int i = 0; i < source.Length; i++)
            bits[i] = (uint)source[i] << 16;
    }

    private static ushort Round(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
            return (ushort)((bits >> 16) | 0x0040);   // NaN stays a (quiet) NaN
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
