using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// Which ring edge a connection serves: the attempt, this rank and the next, and the base secret its keys derive from
/// (the cluster key, or the attempt's secret where the cluster has none; see <see cref="RingKeys"/>).
/// </summary>
public sealed record RingEdge(string RunKey, int Attempt, int FromRank, int ToRank, byte[] Secret)
{
    /// <summary>This edge's key: what the handshake proves and the session key derives from.</summary>
    public byte[] Key() => RingKeys.Edge(Secret, RunKey, Attempt, FromRank, ToRank);
}

/// <summary>
/// The bulk path to the next rank on another host: one persistent TCP connection per attempt, opened at the first
/// send, authenticated by <see cref="PeerHandshake"/>, then frames (header, values, AES-GCM tag) sealed under the
/// connection's session key (<see cref="FrameSeal"/>): encrypted by default, authenticated always. While the next rank
/// has not registered its attempt yet (it may still be loading its model) the handshake is refused and retried until
/// <c>waitForPeer</c>.
/// </summary>
/// <remarks>With <see cref="WireFormat.Bf16"/> each value goes as its upper 16 bits: the ring has rounded it already.</remarks>
public sealed class TcpRingTransport(IPEndPoint peer, RingEdge edge, TimeSpan waitForPeer, FrameSealing sealing = FrameSealing.Encrypted,
    int maxSliceFloats = RingAllReduce.DefaultSliceFloats, WireFormat wire = WireFormat.Fp32) : IRingTransport
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10), RetryDelay = TimeSpan.FromMilliseconds(100);
    private readonly byte[] _key = edge.Key();
    private Socket? _socket;
    private Stream? _stream;
    private FrameSeal? _seal;
    private volatile bool _aborted;
    private long _bytesSent;

    /// <summary>Bytes written to the connection so far, headers and tags included (for tests and diagnostics).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public void Send(FrameHeader header, ReadOnlySpan<float> values, CancellationToken cancellationToken)
    {
        if (_stream is null)
            (_stream, _seal) = Connect(header.Key.Step, cancellationToken);
        int bodyBytes = values.Length * BFloat16Wire.BytesPerValue(wire);
        // One contiguous frame, written at once: header, values (narrowed to bf16, or encrypted, in place here), tag.
        int frameBytes = FrameHeader.Size + bodyBytes + FrameSeal.TagSize;
        byte[] frame = ArrayPool<byte>.Shared.Rent(frameBytes);
        try
        {
            Span<byte> headerBytes = frame.AsSpan(0, FrameHeader.Size), body = frame.AsSpan(FrameHeader.Size, bodyBytes);
            header.Write(headerBytes);
            ReadOnlySpan<byte> plain = Body(values, body);
            _seal!.Seal(headerBytes, plain, body, frame.AsSpan(FrameHeader.Size + bodyBytes, FrameSeal.TagSize), header.Key.Step);
            if (_seal.Sealing == FrameSealing.Authenticated && wire == WireFormat.Fp32)
            {
                // The values went into the tag where they lie; they go on the wire from there, without a copy.
                _stream.Write(headerBytes);
                _stream.Write(plain);
                _stream.Write(frame.AsSpan(FrameHeader.Size + bodyBytes, FrameSeal.TagSize));
            }
            else
            {
                _stream.Write(frame.AsSpan(0, frameBytes));
            }
            Interlocked.Add(ref _bytesSent, frameBytes);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            throw Unavailable($"the connection broke while sending step {header.Key.Step}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    // The frame's values as bytes: narrowed to bf16 into the frame (then sealed in place), or the fp32 values where they
    // lie (encrypted from there into the frame, or sent from there when only authenticated).
    private ReadOnlySpan<byte> Body(ReadOnlySpan<float> values, Span<byte> frameBody)
    {
        if (wire != WireFormat.Bf16)
            return MemoryMarshal.AsBytes(values);
        BFloat16Wire.Narrow(values, MemoryMarshal.Cast<byte, ushort>(frameBody));
        return frameBody;
    }

    private (Stream, FrameSeal) Connect(long step, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        string lastRefusal = "it refused the handshake";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_aborted)
                throw Unavailable("the ring was aborted before the connection was made");
            NetworkStream stream = Dial(cancellationToken);
            try
            {
                if (Handshake(stream, step) is { } seal)
                    return (stream, seal);
                lastRefusal = "it refused the handshake: it has not registered that attempt, or it does not share this cluster's key " +
                              "(FlatLora:Silo:ClusterKey must be the same on every silo)";
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                lastRefusal = "it closed the connection before answering the handshake (it may be busy with other handshakes)";
            }
            stream.Dispose();
            if (watch.Elapsed > waitForPeer)
                throw new RingRejectedException(
                    $"rank {edge.ToRank} at {peer} did not accept rank {edge.FromRank}'s gradient connection for {edge.RunKey} attempt {edge.Attempt} " +
                    $"within {waitForPeer.TotalSeconds:F0} s: {lastRefusal}");
            cancellationToken.WaitHandle.WaitOne(RetryDelay);
        }
    }

    private NetworkStream Dial(CancellationToken cancellationToken)
    {
        var socket = new Socket(peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(ConnectTimeout);
            socket.ConnectAsync(peer, deadline.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw Unavailable(e is SocketException s ? $"cannot connect: {s.SocketErrorCode}" : $"no answer to a connection within {ConnectTimeout.TotalSeconds:F0} s", e);
        }
        Interlocked.Exchange(ref _socket, socket)?.Dispose();
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The connection's sealer when the listener accepted; null when it refused or could not prove it holds the edge's key.</summary>
    private FrameSeal? Handshake(Stream stream, long step)
    {
        byte[] hello = PeerHandshake.Encode(new Hello(edge.RunKey, edge.Attempt, edge.FromRank, edge.ToRank, step, maxSliceFloats,
            RandomNumberGenerator.GetBytes(PeerHandshake.NonceSize), wire, sealing));
        stream.Write(hello);
        stream.Flush();
        Span<byte> challenge = stackalloc byte[PeerHandshake.NonceSize + PeerHandshake.ProofSize];
        stream.ReadExactly(challenge);
        ReadOnlySpan<byte> nonce = challenge[..PeerHandshake.NonceSize];
        // A listener without this attempt answers under a decoy key: no point proving anything to it.
        if (!CryptographicOperations.FixedTimeEquals(PeerHandshake.ServerProof(_key, hello, nonce), challenge[PeerHandshake.NonceSize..]))
            return null;
        stream.Write(PeerHandshake.ClientProof(_key, hello, nonce));
        stream.Flush();
        Span<byte> verdict = stackalloc byte[1];
        stream.ReadExactly(verdict);
        return verdict[0] == PeerHandshake.Accepted ? new FrameSeal(RingKeys.Session(_key, hello, nonce), sealing) : null;
    }

    private PeerUnavailableException Unavailable(string what, Exception? inner = null) =>
        new(edge.ToRank, $"rank {edge.ToRank} at {peer} is unreachable from rank {edge.FromRank} of {edge.RunKey}: {what}", inner);

    public void Abort()
    {
        _aborted = true;
        _socket?.Dispose();
    }

    public void Dispose()
    {
        _aborted = true;
        _stream?.Dispose();
        _socket?.Dispose();
        _seal?.Dispose();
    }
}
