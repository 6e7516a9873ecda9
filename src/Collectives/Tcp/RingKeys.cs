using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FlatLora.Collectives.Tcp;

/// <summary>
/// The keys of the gradient ring, each derived with HKDF-SHA256 and none ever sent:
/// <list type="bullet">
/// <item>an edge key per (run, attempt, from → to), from the base secret: the cluster key that every silo holds from its
///   configuration, or (in a cluster without one) the attempt's secret;</item>
/// <item>a session key per connection, from the edge key and both sides' handshake nonces, which seals its frames.</item>
/// </list>
/// A key for one edge, attempt or connection says nothing about any other.
/// </summary>
public static class RingKeys
{
    public const int KeySize = 32;
    private static readonly byte[] EdgeSalt = "flatlora ring v2 edge"u8.ToArray(), SessionLabel = "flatlora ring v2 frames"u8.ToArray();

    /// <summary>The key of ring edge <paramref name="from"/> → <paramref name="to"/> of one attempt of one run.</summary>
    public static byte[] Edge(ReadOnlySpan<byte> baseSecret, string runKey, int attempt, int from, int to)
    {
        if (baseSecret.IsEmpty)
            throw new ArgumentException($"ring edge {from} → {to} of {runKey}: no base secret to derive its key from");
        byte[] run = Encoding.UTF8.GetBytes(runKey);
        byte[] info = new byte[run.Length + 1 + 12];
        run.CopyTo(info, 0);
        Span<byte> numbers = info.AsSpan(run.Length + 1);
        BinaryPrimitives.WriteInt32LittleEndian(numbers, attempt);
        BinaryPrimitives.WriteInt32LittleEndian(numbers[4..], from);
        BinaryPrimitives.WriteInt32LittleEndian(numbers[8..], to);
        byte[] key = new byte[KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, baseSecret, key, EdgeSalt, info);
        return key;
    }

    /// <summary>The key that seals one connection's frames: bound to its edge key, its hello and both nonces.</summary>
    public static byte[] Session(ReadOnlySpan<byte> edgeKey, ReadOnlySpan<byte> hello, ReadOnlySpan<byte> serverNonce)
    {
        Span<byte> transcript = stackalloc byte[SHA256.HashSizeInBytes];
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            hash.AppendData(hello);
            hash.AppendData(serverNonce);
            hash.GetHashAndReset(transcript);
        }
        byte[] info = [.. SessionLabel, .. transcript];
        byte[] key = new byte[KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, edgeKey, key, salt: [], info);
        return key;
    }

    /// <summary>A fresh random cluster key (what `flatlora certs` and the Helm chart generate), base64.</summary>
    public static string NewClusterKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeySize));

    /// <summary>
    /// A cluster key from its configured base64 text; throws naming <paramref name="setting"/> when it is not base64 or
    /// shorter than 32 bytes.
    /// </summary>
    public static byte[] ParseClusterKey(string text, string setting)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{setting}: not base64 (generate one with `openssl rand -base64 32`)");
        }
        if (key.Length < KeySize)
            throw new ArgumentException($"{setting}: {key.Length} bytes; a cluster key needs at least {KeySize} (`openssl rand -base64 32`)");
        return key;
    }
}
