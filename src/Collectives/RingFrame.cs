using System.Buffers;
using System.Buffers.Binary;

namespace FlatLora.Collectives;

/// <summary>
/// Where a slice of a ring collective belongs: the optimizer step, the gradient bucket within it, the ring hop
/// (0 … 2(W−1)−1: reduce-scatter, then all-gather) and the slice of the hop's chunk.
/// </summary>
public readonly record struct SliceKey(long Step, int Bucket, int Hop, int Slice);

/// <summary>
/// The fixed 40-byte header of a data-plane frame, little-endian: magic, step, bucket, hop, slice, float count and
/// the sender's consistency hash (Flat-LoRA: of the step's ε). The count float32 values follow.
/// </summary>
public readonly record struct FrameHeader(SliceKey Key, int Count, ulong Fingerprint)
{
    public const int Size = 40;
    private const uint Magic = 0x46524C46;   // "FLRF"

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], Key.Step);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Key.Bucket);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], Key.Hop);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], Key.Slice);
        BinaryPrimitives.WriteInt32LittleEndian(destination[24..], Count);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[28..], Fingerprint);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], 0);
    }

    /// <summary>Reads a header, or throws <see cref="InvalidDataException"/> when the bytes are not one.</summary>
    public static FrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(source) != Magic)
            throw new InvalidDataException("a frame does not start with the data-plane magic");
        var key = new SliceKey(BinaryPrimitives.ReadInt64LittleEndian(source[4..]), BinaryPrimitives.ReadInt32LittleEndian(source[12..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[16..]), BinaryPrimitives.ReadInt32LittleEndian(source[20..]));
        return new FrameHeader(key, BinaryPrimitives.ReadInt32LittleEndian(source[24..]), BinaryPrimitives.ReadUInt64LittleEndian(source[28..]));
    }
}

/// <summary>
/// One received slice: its values live in an array rented from the shared pool, handed back by <see cref="Dispose"/>
/// once the ring has summed or copied them.
/// </summary>
public sealed class RingSlice(int fromRank, FrameHeader header, float[]? rented) : IDisposable
{
    private float[]? _rented = rented;

    public int FromRank { get; } = fromRank;
    public FrameHeader Header { get; } = header;
    public ReadOnlySpan<float> Values => _rented.AsSpan(0, Header.Count);

    /// <summary>The values were read straight into their place in the collective's buffer: nothing to copy.</summary>
    public bool Landed => _rented is null && Header.Count > 0;

    /// <summary>A slice whose values the receiving side already wrote where they belong.</summary>
    public static RingSlice LandedIn(int fromRank, FrameHeader header) => new(fromRank, header, null);

    /// <summary>A pooled copy of <paramref name="values"/> (the in-process path).</summary>
    public static RingSlice Copy(int fromRank, FrameHeader header, ReadOnlySpan<float> values)
    {
        float[] rented = ArrayPool<float>.Shared.Rent(values.Length);
        values.CopyTo(rented);
        return new RingSlice(fromRank, header, rented);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, null) is float[] array)
            ArrayPool<float>.Shared.Return(array);
    }
}
