using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// This process's data-plane port: accepts TCP connections from ranks on other hosts, runs the
/// <see cref="PeerHandshake"/>, and only then attaches the connection to the addressed rank's mailbox, whose frames it
/// opens with the connection's session key. Until a peer has proved it holds the edge's key nothing is allocated for
/// it beyond one pooled 1 KB handshake buffer; handshakes are capped in number and time, so a flood of silent
/// connections cannot starve real peers, and a refused or wrong peer never takes the edge from the true one.
/// </summary>
public sealed class DataPlaneListener : IDisposable
{
    /// <summary>The largest frame a dialler may announce: 4M floats (16 MB).</summary>
    public const int MaxSliceFloats = 4 << 20;
    private const int MaxPendingHandshakes = 64;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly GradientInbox _inbox;
    private readonly FrameSealing _required;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _handshakes = new(MaxPendingHandshakes);
    private readonly byte[] _decoyKey = RandomNumberGenerator.GetBytes(32);
    private long _accepted, _refused;

    private DataPlaneListener(GradientInbox inbox, Socket socket, FrameSealing required)
    {
        _inbox = inbox;
        _socket = socket;
        _required = required;
        LocalEndpoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndpoint { get; }

    /// <summary>Connections that passed the handshake, and those refused (for tests and diagnostics).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Listens on <paramref name="endpoint"/> (port 0: any free port) for ranks of <paramref name="inbox"/>.</summary>
    /// <param name="required">The weakest sealing a dialler may announce: with Encrypted, a peer offering clear values is refused.</param>
    public static DataPlaneListener Start(GradientInbox inbox, IPEndPoint endpoint, FrameSealing required = FrameSealing.Encrypted)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(128);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"the gradient data plane cannot listen on {endpoint}: {e.Message}", e);
        }
        var listener = new DataPlaneListener(inbox, socket, required);
        _ = listener.AcceptLoopAsync();
        return listener;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                    return;
                continue;
            }
            if (!_handshakes.Wait(0))
            {
                client.Dispose();   // too many peers mid-handshake: this one may dial again
                continue;
            }
            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        client.NoDelay = true;
        Stream stream = new NetworkStream(client, ownsSocket: true);
        string peer = client.RemoteEndPoint?.ToString() ?? "?";
        InboundConnection? connection = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(HandshakeTimeout);
            connection = await AuthenticateAsync(stream, peer, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            _handshakes.Release();
        }
        if (connection is null)
        {
            Interlocked.Increment(ref _refused);
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _accepted);
        connection.Start();
    }

    private async Task<InboundConnection?> AuthenticateAsync(Stream stream, string peer, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, PeerHandshake.PrefixSize), cancellationToken).ConfigureAwait(false);
            int keyBytes = PeerHandshake.RunKeyBytes(buffer);
            if (keyBytes < 0)
                return null;
            int helloLength = PeerHandshake.PrefixSize + PeerHandshake.BodySize(keyBytes);
            await stream.ReadExactlyAsync(buffer.AsMemory(PeerHandshake.PrefixSize, helloLength - PeerHandshake.PrefixSize), cancellationToken).ConfigureAwait(false);
            if (PeerHandshake.Decode(buffer.AsSpan(0, helloLength)) is not { } hello)
                return null;

            RingMailbox? mailbox = _inbox.Find(hello.RunKey, hello.Attempt, hello.ToRank);
            // Same work and answer shape whether or not the rank is here. Only the previous rank's edge has a key.
            byte[] key = mailbox is not null && hello.FromRank == mailbox.PreviousRank
                ? RingKeys.Edge(mailbox.Secret, hello.RunKey, hello.Attempt, hello.FromRank, hello.ToRank)
                : _decoyKey;
            byte[] nonce = RandomNumberGenerator.GetBytes(PeerHandshake.NonceSize);
            byte[] serverProof = PeerHandshake.ServerProof(key, buffer.AsSpan(0, helloLength), nonce);
            nonce.CopyTo(buffer, helloLength);
            serverProof.CopyTo(buffer, helloLength + PeerHandshake.NonceSize);
            await stream.WriteAsync(buffer.AsMemory(helloLength, PeerHandshake.NonceSize + PeerHandshake.ProofSize), cancellationToken).ConfigureAwait(false);

            await stream.ReadExactlyAsync(buffer.AsMemory(helloLength, PeerHandshake.ProofSize), cancellationToken).ConfigureAwait(false);
            byte[] expected = PeerHandshake.ClientProof(key, buffer.AsSpan(0, helloLength), nonce);
            bool proven = CryptographicOperations.FixedTimeEquals(expected, buffer.AsSpan(helloLength, PeerHandshake.ProofSize));
            InboundConnection? connection = null;
            if (mailbox is not null && proven && hello.FromRank == mailbox.PreviousRank && hello.Step >= mailbox.CurrentStep
                && hello.MaxSliceFloats is > 0 and <= MaxSliceFloats && hello.Sealing >= _required)
            {
                var seal = new FrameSeal(RingKeys.Session(key, buffer.AsSpan(0, helloLength), nonce), hello.Sealing);
                connection = new InboundConnection(stream, mailbox, hello, peer, seal);
                if (!mailbox.TryAttach(connection, peer))
                {
                    seal.Dispose();
                    connection = null;   // the edge is taken: a second connection for it is a replay or a stray
                }
            }
            buffer[0] = connection is null ? PeerHandshake.Refused : PeerHandshake.Accepted;
            await stream.WriteAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
