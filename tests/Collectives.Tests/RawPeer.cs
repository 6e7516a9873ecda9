using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Collectives.Tests;

/// <summary>
/// A hand-driven data-plane client for the spoofing tests: it speaks the handshake byte by byte, so a test can leave
/// steps out, replay recorded bytes, or send frames that the real transport never would (unsealed, forged, replayed,
/// out of order).
/// </summary>
internal sealed class RawPeer : IDisposable
{
    private readonly TcpClient _client = new() { NoDelay = true };
    private FrameSeal? _seal;

    private RawPeer()
    {
    }

    public NetworkStream Stream => _client.GetStream();

    /// <summary>The bytes this peer sent in its handshake, for a replay.</summary>
    public byte[] Hello { get; private set; } = [];
    public byte[] ClientProof { get; private set; } = [];

    public static RawPeer Connect(IPEndPoint endpoint)
    {
        var peer = new RawPeer();
        peer._client.Connect(endpoint);
        peer._client.ReceiveTimeout = 10_000;
        return peer;
    }

    public static byte[] HelloBytes(string runKey, int attempt, int from, int to, long step = 0, int maxSliceFloats = 1024,
        FrameSealing sealing = FrameSealing.Encrypted) =>
        PeerHandshake.Encode(new Hello(runKey, attempt, from, to, step, maxSliceFloats, RandomNumberGenerator.GetBytes(PeerHandshake.NonceSize),
            Sealing: sealing));

    /// <summary>
    /// Runs the whole handshake with the edge key derived from <paramref name="secret"/> (right or wrong) for the edge
    /// the hello names; true when the listener accepted, and then this peer can seal frames as the real sender would.
    /// </summary>
    public bool Handshake(byte[] hello, byte[] secret)
    {
        Hello decoded = PeerHandshake.Decode(hello)!;
        byte[] edgeKey = RingKeys.Edge(secret, decoded.RunKey, decoded.Attempt, decoded.FromRank, decoded.ToRank);
        Hello = hello;
        Stream.Write(hello);
        byte[] challenge = new byte[PeerHandshake.NonceSize + PeerHandshake.ProofSize];
        Stream.ReadExactly(challenge);
        byte[] nonce = challenge[..PeerHandshake.NonceSize];
        ClientProof = PeerHandshake.ClientProof(edgeKey, hello, nonce);
        bool accepted = SendProofAndReadVerdict(ClientProof);
        if (accepted)
            _seal = new FrameSeal(RingKeys.Session(edgeKey, hello, nonce), decoded.Sealing);
        return accepted;
    }

    /// <summary>Sends <paramref name="hello"/> and a proof recorded elsewhere, ignoring the challenge; true when accepted.</summary>
    public bool Replay(byte[] hello, byte[] recordedProof)
    {
        Stream.Write(hello);
        Stream.ReadExactly(new byte[PeerHandshake.NonceSize + PeerHandshake.ProofSize]);
        return SendProofAndReadVerdict(recordedProof);
    }

    private bool SendProofAndReadVerdict(byte[] proof)
    {
        Stream.Write(proof);
        int verdict = Stream.ReadByte();
        return verdict == PeerHandshake.Accepted;
    }

    /// <summary>A frame header announcing <paramref name="count"/> values, followed by <paramref name="values"/> (maybe fewer), unsealed.</summary>
    public void Frame(SliceKey key, int count, float[] values, ulong fingerprint = 0)
    {
        byte[] header = new byte[FrameHeader.Size];
        new FrameHeader(key, count, fingerprint).Write(header);
        Stream.Write(header);
        Stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        Stream.Flush();
    }

    /// <summary>The next frame sealed as the real sender seals it (header, values, tag), to send, replay or reorder.</summary>
    public byte[] SealedFrame(SliceKey key, float[] values, ulong fingerprint = 0)
    {
        byte[] body = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        byte[] frame = new byte[FrameHeader.Size + body.Length + FrameSeal.TagSize];
        new FrameHeader(key, values.Length, fingerprint).Write(frame);
        _seal!.Seal(frame.AsSpan(0, FrameHeader.Size), body, frame.AsSpan(FrameHeader.Size, body.Length), frame.AsSpan(FrameHeader.Size + body.Length), key.Step);
        if (_seal.Sealing == FrameSealing.Authenticated)
            body.CopyTo(frame, FrameHeader.Size);
        return frame;
    }

    public void Send(byte[] bytes)
    {
        Stream.Write(bytes);
        Stream.Flush();
    }

    /// <summary>True once the listener has closed the connection (a read returns end of stream or fails).</summary>
    public bool ClosedByListener()
    {
        try
        {
            return Stream.Read(new byte[1]) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _seal?.Dispose();
    }
}
