using System.Buffers;
using System.Runtime.InteropServices;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// An authenticated connection from the previous rank: a thread reads frames into pooled arrays (or straight into the
/// collective's buffer), opens each one's seal, and posts it to the rank's mailbox. Anything wrong with a frame (bad
/// magic, more values than the handshake announced, a truncated body, a tag that fails because the frame was forged,
/// replayed or reordered, a duplicate or stale slice) faults the mailbox with <see cref="RingRejectedException"/>; a
/// closed or reset connection faults it with <see cref="PeerUnavailableException"/>. Either ends this attempt only.
/// </summary>
internal sealed class InboundConnection : IDisposable
{
    private readonly Stream _stream;
    private readonly RingMailbox _mailbox;
    private readonly Hello _hello;
    private readonly string _peer;
    private readonly FrameSeal _seal;
    private volatile bool _closing;

    public InboundConnection(Stream stream, RingMailbox mailbox, Hello hello, string peer, FrameSeal seal)
    {
        _stream = stream;
        _mailbox = mailbox;
        _hello = hello;
        _peer = peer;
        _seal = seal;
    }

    public void Start() => new Thread(ReadLoop) { IsBackground = true, Name = $"ring-receive rank {_mailbox.Rank}" }.Start();

    private string Edge => $"rank {_mailbox.Rank} of {_mailbox.RunKey} (attempt {_mailbox.Attempt}): rank {_hello.FromRank} at {_peer}";

    private void ReadLoop()
    {
        Span<byte> header = stackalloc byte[FrameHeader.Size];
        Span<byte> tag = stackalloc byte[FrameSeal.TagSize];
        try
        {
            while (true)
            {
                int read = _stream.ReadAtLeast(header, FrameHeader.Size, throwOnEndOfStream: false);
                if (read == 0)
                    throw new EndOfStreamException();
                if (read < FrameHeader.Size)
                    throw new RingRejectedException($"{Edge} sent a truncated frame header ({read} of {FrameHeader.Size} bytes); this attempt ends");
                FrameHeader frame = ReadHeader(header);
                if (_mailbox.TryPlace(frame, out Memory<float> destination))
                {
                    ReadValues(destination.Span, frame, header, tag);
                    _mailbox.Post(RingSlice.LandedIn(_hello.FromRank, frame));
                    continue;
                }
                float[] values = ArrayPool<float>.Shared.Rent(frame.Count);
                try
                {
                    ReadValues(values.AsSpan(0, frame.Count), frame, header, tag);
                }
                catch
                {
                    ArrayPool<float>.Shared.Return(values);
                    throw;
                }
                _mailbox.Post(new RingSlice(_hello.FromRank, frame, values));
            }
        }
        catch (RingRejectedException e)
        {
            _mailbox.Fault(e);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            if (!_closing)
                _mailbox.Fault(new PeerUnavailableException(_hello.FromRank,
                    $"{Edge} closed its gradient connection (its process ended or the link failed)", e));
        }
        finally
        {
            _stream.Dispose();
            _seal.Dispose();
        }
    }

    // The frame's values, opened from their seal, and widened from bf16 when the peer announced that wire format.
    private void ReadValues(Span<float> destination, FrameHeader frame, ReadOnlySpan<byte> header, Span<byte> tag)
    {
        if (_hello.Wire != WireFormat.Bf16)
        {
            ReadSealedBody(MemoryMarshal.AsBytes(destination), frame, header, tag);
            return;
        }
        ushort[] narrow = ArrayPool<ushort>.Shared.Rent(frame.Count);
        try
        {
            ReadSealedBody(MemoryMarshal.AsBytes(narrow.AsSpan(0, frame.Count)), frame, header, tag);
            BFloat16Wire.Widen(narrow.AsSpan(0, frame.Count), destination);
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(narrow);
        }
    }

    private void ReadSealedBody(Span<byte> destination, FrameHeader frame, ReadOnlySpan<byte> header, Span<byte> tag)
    {
        try
        {
            _stream.ReadExactly(destination);
            _stream.ReadExactly(tag);
        }
        catch (EndOfStreamException)
        {
            throw new RingRejectedException($"{Edge} sent a truncated frame (its header announced {frame.Count} values); this attempt ends");
        }
        if (!_seal.TryOpen(header, destination, tag, frame.Key.Step))
            throw new RingRejectedException($"{Edge} sent a frame (step {frame.Key.Step}) whose authentication tag does not match: " +
                                            "it was forged, replayed or reordered on the way; this attempt ends");
    }

    private FrameHeader ReadHeader(ReadOnlySpan<byte> bytes)
    {
        FrameHeader frame;
        try
        {
            frame = FrameHeader.Read(bytes);
        }
        catch (InvalidDataException)
        {
            throw new RingRejectedException($"{Edge} sent bytes that are not a frame; this attempt ends");
        }
        if (frame.Count < 0 || frame.Count > _hello.MaxSliceFloats)
            throw new RingRejectedException($"{Edge} sent a frame of {frame.Count} values, more than the {_hello.MaxSliceFloats} it announced; this attempt ends");
        return frame;
    }

    public void Dispose()
    {
        _closing = true;
        _stream.Dispose();
    }
}
