using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// What a dialling rank announces on a new data-plane connection: the attempt it belongs to, the ring edge it wants
/// (from → to), the step it starts at, the largest frame it will send, how its frames are sealed, and a fresh nonce.
/// </summary>
internal sealed record Hello(string RunKey, int Attempt, int FromRank, int ToRank, long Step, int MaxSliceFloats, byte[] ClientNonce,
    WireFormat Wire = WireFormat.Fp32, FrameSealing Sealing = FrameSealing.Encrypted);

/// <summary>
/// Mutual HMAC-SHA256 challenge-response keyed by the edge's key (<see cref="RingKeys.Edge"/>); no key ever crosses
/// the wire.
/// <list type="number">
/// <item>dialler → listener: Hello (magic, version, run key, attempt, from, to, step, max frame, wire format, sealing,
///   32-byte nonce);</item>
/// <item>listener → dialler: its own 32-byte nonce and HMAC(edge key, "server" ‖ hello ‖ listener nonce);</item>
/// <item>dialler → listener: HMAC(edge key, "client" ‖ hello ‖ listener nonce), which a recording cannot replay because
///   the listener's nonce is new on every connection;</item>
/// <item>listener → dialler: one byte, accepted or refused; a refusal never says why.</item>
/// </list>
/// Then the dialler's frames follow, sealed under the session key both derive from the edge key and the transcript
/// (<see cref="RingKeys.Session"/>, <see cref="FrameSeal"/>). A listener that has no such rank answers with a proof
/// under a random key, so a prober learns nothing about which silo hosts which rank.
/// </summary>
internal static class PeerHandshake
{
    public const int NonceSize = 32, ProofSize = 32;
    public const int PrefixSize = 8, MaxRunKeyBytes = 512;
    public const byte Accepted = 1, Refused = 0;
    private const uint Magic = 0x48524C46;   // "FLRH"
    private const ushort Version = 2;
    private const int FixedTail = 4 + 4 + 4 + 8 + 4 + 1 + 1 + NonceSize;
    private static readonly byte[] ServerLabel = "flatlora ring v2 server"u8.ToArray(), ClientLabel = "flatlora ring v2 client"u8.ToArray();

    /// <summary>The hello's bytes after the prefix, given the run-key length the prefix announced.</summary>
    public static int BodySize(int runKeyBytes) => runKeyBytes + FixedTail;

    public static byte[] Encode(Hello hello)
    {
        byte[] key = Encoding.UTF8.GetBytes(hello.RunKey);
        if (key.Length > MaxRunKeyBytes)
            throw new ArgumentException($"run key '{hello.RunKey}' is longer than {MaxRunKeyBytes} bytes");
        byte[] bytes = new byte[PrefixSize + BodySize(key.Length)];
        Span<byte> s = bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], (ushort)key.Length);
        key.CopyTo(s[8..]);
        s = s[(8 + key.Length)..];
        BinaryPrimitives.WriteInt32LittleEndian(s, hello.Attempt);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], hello.FromRank);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], hello.ToRank);
        BinaryPrimitives.WriteInt64LittleEndian(s[12..], hello.Step);
        BinaryPrimitives.WriteInt32LittleEndian(s[20..], hello.MaxSliceFloats);
        s[24] = (byte)hello.Wire;
        s[25] = (byte)hello.Sealing;
        hello.ClientNonce.CopyTo(s[26..]);
        return bytes;
    }

    /// <summary>The run-key length a prefix announces, or −1 when the prefix is not a hello of this version.</summary>
    public static int RunKeyBytes(ReadOnlySpan<byte> prefix)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(prefix) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(prefix[4..]) != Version)
            return -1;
        int length = BinaryPrimitives.ReadUInt16LittleEndian(prefix[6..]);
        return length is > 0 and <= MaxRunKeyBytes ? length : -1;
    }

    /// <summary>Parses the whole hello (prefix included); null when it is malformed.</summary>
    public static Hello? Decode(ReadOnlySpan<byte> hello)
    {
        int keyBytes = RunKeyBytes(hello);
        if (keyBytes < 0 || hello.Length != PrefixSize + BodySize(keyBytes))
            return null;
        string runKey;
        try
        {
            runKey = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(hello.Slice(PrefixSize, keyBytes));
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        ReadOnlySpan<byte> s = hello[(PrefixSize + keyBytes)..];
        if (s[24] > (byte)WireFormat.Bf16 || s[25] > (byte)FrameSealing.Encrypted)
            return null;
        return new Hello(runKey, BinaryPrimitives.ReadInt32LittleEndian(s), BinaryPrimitives.ReadInt32LittleEndian(s[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[8..]), BinaryPrimitives.ReadInt64LittleEndian(s[12..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[20..]), s.Slice(26, NonceSize).ToArray(), (WireFormat)s[24], (FrameSealing)s[25]);
    }

    public static byte[] ServerProof(byte[] edgeKey, ReadOnlySpan<byte> hello, ReadOnlySpan<byte> serverNonce) =>
        Proof(edgeKey, ServerLabel, hello, serverNonce);

    public static byte[] ClientProof(byte[] edgeKey, ReadOnlySpan<byte> hello, ReadOnlySpan<byte> serverNonce) =>
        Proof(edgeKey, ClientLabel, hello, serverNonce);

    private static byte[] Proof(byte[] edgeKey, byte[] label, ReadOnlySpan<byte> hello, ReadOnlySpan<byte> serverNonce)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, edgeKey);
        hmac.AppendData(label);
        hmac.AppendData(hello);
        hmac.AppendData(serverNonce);
        return hmac.GetHashAndReset();
    }
}
