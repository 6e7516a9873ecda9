namespace FlatLora.Collectives;

/// <summary>
/// Where the ring's chunks and slices lie in a buffer of a given length: W chunks of (almost) equal length, each cut
/// into slices of at most <see cref="SliceFloats"/>. An empty chunk still has one empty slice, so every hop carries
/// a frame (and the consistency hash).
/// </summary>
public readonly record struct RingLayout(int WorldSize, int Length, int SliceFloats)
{
    public int Chunk(int index) => ((index % WorldSize) + WorldSize) % WorldSize;

    /// <summary>The chunk rank <paramref name="rank"/> receives at <paramref name="hop"/> (and sends on at the next hop).</summary>
    public int ReceivedChunk(int rank, int hop) => Chunk(rank - hop - 1);

    public IEnumerable<(int Slice, int Start, int Length)> Slices(int chunk)
    {
        (int start, int end) = Bounds(chunk);
        int slice = 0;
        do
        {
            int length = Math.Min(SliceFloats, end - start);
            yield return (slice++, start, length);
            start += length;
        }
        while (start < end);
    }

    /// <summary>The region of one slice of a chunk, or null when the chunk has no such slice.</summary>
    public (int Start, int Length)? Region(int chunk, int slice)
    {
        (int start, int end) = Bounds(chunk);
        long sliceStart = start + (long)slice * SliceFloats;
        if (slice < 0 || (sliceStart >= end && !(slice == 0 && start == end)))
            return null;
        return ((int)sliceStart, (int)Math.Min(SliceFloats, end - sliceStart));
    }

    private (int Start, int End) Bounds(int chunk) =>
        ((int)((long)chunk * Length / WorldSize), (int)((long)(chunk + 1) * Length / WorldSize));
}
