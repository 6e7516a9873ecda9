using System.Numerics.Tensors;

namespace FlatLora.Collectives;

/// <summary>
/// Pipelined ring all-reduce (sum) of a float buffer over W ranks. The buffer is cut into W chunks and each chunk
/// into slices. Hop 0 sends this rank's own chunk; from then on, every slice that arrives is summed into the buffer
/// (W−1 reduce-scatter hops) or copied (W−1 all-gather hops) and sent on at the next hop straight away, so sending
/// slice k+1 overlaps reducing slice k and a hop never waits for a whole chunk. Each rank sends 2(W−1)/W of the buffer
/// whatever W is. Every chunk is summed once, in a fixed order round the ring, then copied: all ranks end with
/// bit-identical values, so their LoRA weights never drift apart. Hop 0 also compares the neighbours' consistency
/// hashes (for Flat-LoRA, a hash of the step's ε).
/// </summary>
public sealed class RingAllReduce : IDisposable
{
    /// <summary>
    /// 256K floats (1 MB) per slice: a 4 MB chunk still pipelines over 4 slices, and each slice costs a hand-off
    /// between the receiving, reducing and sending threads, which on 2 cores is what a smaller slice loses to
    /// (docs/benchmarks.md, `bench allreduce --slice-kb`).
    /// </summary>
    public const int DefaultSliceFloats = 256 * 1024;

    private readonly RingMailbox _mailbox;
    private readonly IRingTransport _next;
    private readonly SendPump _pump;
    private readonly TimeSpan _timeout;
    private readonly int _sliceFloats;
    private readonly WireFormat _wire;

    /// <param name="wire">bf16: every region is rounded to bf16 in place just before it is sent, on every transport, so
    /// what a rank keeps is what its peers receive.</param>
    public RingAllReduce(RingMailbox mailbox, IRingTransport next, TimeSpan timeout, int sliceFloats = DefaultSliceFloats,
        WireFormat wire = WireFormat.Fp32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceFloats, 1);
        _mailbox = mailbox;
        _next = next;
        _timeout = timeout;
        _sliceFloats = sliceFloats;
        _wire = wire;
        _pump = new SendPump(next, mailbox);
    }

    private int Rank => _mailbox.Rank;
    private int World => _mailbox.WorldSize;

    /// <summary>Sums <paramref name="buffer"/> over all ranks in place; every rank calls it with the same step, bucket and length.</summary>
    public void Sum(long step, int bucket, Memory<float> buffer, ulong fingerprint, CancellationToken cancellationToken)
    {
        _mailbox.AdvanceTo(step);
        if (World == 1)
            return;
        try
        {
            SumOverRing(step, bucket, buffer, fingerprint, cancellationToken);
        }
        catch
        {
            _next.Abort();   // a send stuck on a dead link must not outlive the failed collective
            throw;
        }
    }

    private void SumOverRing(long step, int bucket, Memory<float> buffer, ulong fingerprint, CancellationToken cancellationToken)
    {
        int hops = 2 * (World - 1);
        var layout = new RingLayout(World, buffer.Length, _sliceFloats);
        // All-gather slices can be read from the socket straight into place: they only overwrite what is final.
        _mailbox.BeginCollective(step, bucket, buffer, layout);
        try
        {
            foreach ((int slice, int start, int length) in layout.Slices(layout.Chunk(Rank)))
                Send(new FrameHeader(new SliceKey(step, bucket, 0, slice), length, fingerprint), buffer.Slice(start, length));
            for (int hop = 0; hop < hops; hop++)
            {
                foreach ((int slice, int start, int length) in layout.Slices(layout.ReceivedChunk(Rank, hop)))
                {
                    using RingSlice incoming = _mailbox.Receive(new SliceKey(step, bucket, hop, slice), _timeout, cancellationToken);
                    Check(incoming, length, fingerprint);
                    Span<float> region = buffer.Span.Slice(start, length);
                    if (hop < World - 1)
                        TensorPrimitives.Add(region, incoming.Values, region);
                    else if (!incoming.Landed)
                        incoming.Values.CopyTo(region);
                    if (hop + 1 < hops)
                        Send(new FrameHeader(new SliceKey(step, bucket, hop + 1, slice), length, fingerprint), buffer.Slice(start, length));
                }
            }
            _pump.Flush(_timeout, cancellationToken);
        }
        finally
        {
            _mailbox.EndCollective();
        }
    }

    private void Send(FrameHeader header, Memory<float> region)
    {
        if (_wire == WireFormat.Bf16)
            BFloat16Wire.RoundInPlace(region.Span);
        _pump.Enqueue(header, region);
    }

    private void Check(RingSlice incoming, int expectedLength, ulong fingerprint)
    {
        FrameHeader header = incoming.Header;
        if (header.Count != expectedLength)
            throw new RingRejectedException($"rank {Rank} of {_mailbox.RunKey}: rank {_mailbox.PreviousRank} sent {header.Count} values for " +
                $"step {header.Key.Step} hop {header.Key.Hop} slice {header.Key.Slice} where {expectedLength} belong; this attempt ends");
        if (header.Key.Hop == 0 && header.Fingerprint != fingerprint)
            throw new FingerprintMismatchException(
                $"step {header.Key.Step}: rank {_mailbox.PreviousRank} reports consistency hash {header.Fingerprint:x16} but rank {Rank} {fingerprint:x16}; " +
                "their seeds, steps, perturbations or LoRA weights disagree");
    }

    public void Dispose() => _pump.Dispose();
}
