using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace FlatLora.Collectives.Tcp;

/// <summary>Which ring edge a connection serves: the attempt, this rank and the next, and the attempt's secret.</summary>
public sealed record RingEdge(string RunKey, int Attempt, int FromRank, int ToRank, byte[] Secret);

/// <summary>
/// The bulk path to the next rank on another host: one persistent TCP connection per attempt, opened at the first
/// send, authenticated by <see cref="PeerHandshake"/> (inside TLS when configured), then length-prefixed frames
/// written straight from the gradient buffer. While the next rank has not registered its attempt yet (it may still be
/// loading its model) the handshake is refused and retried until <c>waitForPeer</c>.
/// </summary>
/// <remarks>With <see cref="WireFormat.Bf16"/> each value goes as its upper 16 bits: the ring has rounded it already.</remarks>
public sealed class TcpRingTransport(IPEndPoint peer, RingEdge edge, TimeSpan waitForPeer, GradientTls? tls = null,
    int maxSliceFloats = RingAllReduce.DefaultSliceFloats, WireFormat wire = WireFormat.Fp32) : IRingTransport
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10), RetryDelay = TimeSpan.FromMilliseconds(100);
    private Socket? _socket;
    private Stream? _stream;
    private volatile bool _aborted;
    private long _bytesSent;

    /// <summary>Bytes written to the connection so far, headers included (for tests and diagnostics).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public void Send(FrameHeader header, ReadOnlySpan<float> values, CancellationToken cancellationToken)
    {
        Stream stream = _stream ??= Connect(header.Key.Step, cancellationToken);
        Span<byte> bytes = stackalloc byte[FrameHeader.Size];
        header.Write(bytes);
        try
        {
            stream.Write(bytes);
            if (wire == WireFormat.Bf16)
                WriteBFloat16(stream, values);
            else
                stream.Write(MemoryMarshal.AsBytes(values));
            Interlocked.Add(ref _bytesSent, FrameHeader.Size + (long)values.Length * BFloat16Wire.BytesPerValue(wire));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            throw Unavailable($"the connection broke while sending step {header.Key.Step}", e);
        }
    }

    private static void WriteBFloat16(Stream stream, ReadOnlySpan<float> values)
    {
        ushort[] narrow = ArrayPool<ushort>.Shared.Rent(values.Length);
        try
        {
            BFloat16Wire.Narrow(values, narrow);
            stream.Write(MemoryMarshal.AsBytes(narrow.AsSpan(0, values.Length)));
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(narrow);
        }
    }

    private Stream Connect(long step, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        string lastRefusal = "it refused the handshake";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_aborted)
                throw Unavailable("the ring was aborted before the connection was made");
            Stream stream = Dial(cancellationToken);
            try
            {
                if (Handshake(stream, step))
                    return stream;
                lastRefusal = "it refused the handshake: it has not registered that attempt, or it does not share the attempt's secret";
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                stream.Dispose();
                // Under TLS 1.3 a listener that rejects this node's certificate says so only by closing the session.
                if (tls is not null)
                    throw Unavailable($"the TLS session was closed during the handshake ({e.Message}); both silos need certificates from the cluster CA", e);
                lastRefusal = "it closed the connection before answering the handshake (it may expect TLS, or be busy with other handshakes)";
            }
            stream.Dispose();
            if (watch.Elapsed > waitForPeer)
                throw new RingRejectedException(
                    $"rank {edge.ToRank} at {peer} did not accept rank {edge.FromRank}'s gradient connection for {edge.RunKey} attempt {edge.Attempt} " +
                    $"within {waitForPeer.TotalSeconds:F0} s: {lastRefusal}");
            cancellationToken.WaitHandle.WaitOne(RetryDelay);
        }
    }

    private Stream Dial(CancellationToken cancellationToken)
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
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (tls is null)
            return stream;
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            ssl.AuthenticateAsClientAsync(tls.ClientOptions(), cancellationToken).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            ssl.Dispose();
            throw Unavailable($"the TLS handshake failed ({e.Message}); both silos need certificates from the cluster CA", e);
        }
        return ssl;
    }

    /// <summary>True when the listener accepted; false when it refused or could not prove it holds the secret.</summary>
    private bool Handshake(Stream stream, long step)
    {
        byte[] hello = PeerHandshake.Encode(new Hello(edge.RunKey, edge.Attempt, edge.FromRank, edge.ToRank, step, maxSliceFloats,
            RandomNumberGenerator.GetBytes(PeerHandshake.NonceSize), wire));
        stream.Write(hello);
        stream.Flush();
        Span<byte> challenge = stackalloc byte[PeerHandshake.NonceSize + PeerHandshake.ProofSize];
        stream.ReadExactly(challenge);
        ReadOnlySpan<byte> nonce = challenge[..PeerHandshake.NonceSize];
        // A listener without this attempt answers under a decoy key: no point proving anything to it.
        if (!CryptographicOperations.FixedTimeEquals(PeerHandshake.ServerProof(edge.Secret, hello, nonce), challenge[PeerHandshake.NonceSize..]))
            return false;
        stream.Write(PeerHandshake.ClientProof(edge.Secret, hello, nonce));
        stream.Flush();
        Span<byte> verdict = stackalloc byte[1];
        stream.ReadExactly(verdict);
        return verdict[0] == PeerHandshake.Accepted;
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
    }
}
