using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FlatLora.Collectives.Tcp;

/// <summary>How a connection's frames are protected; both ways every frame carries an AES-GCM tag.</summary>
public enum FrameSealing : byte
{
    /// <summary>The values travel in clear; the tag covers the header and the values.</summary>
    Authenticated = 0,

    /// <summary>The values are encrypted; the tag covers the header and the ciphertext.</summary>
    Encrypted = 1,
}

/// <summary>
/// One direction of one data-plane connection, sealed with AES-256-GCM under the connection's session key. The
/// 12-byte nonce is the frame's sequence number on the connection (64 bits) and its step's low 32 bits: the receiver
/// builds it from its own count, so a forged, replayed, reordered or dropped frame fails its tag. The run, the attempt
/// and the edge are bound by the key itself (<see cref="RingKeys"/>). Not thread-safe: one sender or one receiver.
/// </summary>
internal sealed class FrameSeal(byte[] sessionKey, FrameSealing sealing) : IDisposable
{
    public const int TagSize = 16;
    private readonly AesGcm _aes = new(sessionKey, TagSize);
    private ulong _sequence;

    public FrameSealing Sealing { get; } = sealing;

    /// <summary>
    /// Seals the next frame: encrypts <paramref name="body"/> into <paramref name="wireBody"/> (Encrypted; the two may
    /// be the same span) or leaves it as it is (Authenticated), and writes the tag.
    /// </summary>
    public void Seal(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, Span<byte> wireBody, Span<byte> tag, long step)
    {
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce, step);
        if (Sealing == FrameSealing.Encrypted)
            _aes.Encrypt(nonce, body, wireBody, tag, header);
        else
            Mac(nonce, header, body, tag);
    }

    /// <summary>
    /// Opens the next frame in place: checks the tag and decrypts <paramref name="wireBody"/> (Encrypted). False when
    /// the tag does not match: the frame is not the next one this sender sealed.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> header, Span<byte> wireBody, ReadOnlySpan<byte> tag, long step)
    {
        Span<byte> nonce = stackalloc byte[12];
        NextNonce(nonce, step);
        if (Sealing == FrameSealing.Encrypted)
        {
            try
            {
                _aes.Decrypt(nonce, wireBody, tag, wireBody, header);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
        Span<byte> expected = stackalloc byte[TagSize];
        Mac(nonce, header, wireBody, expected);
        return CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    // Authentication only: GCM with the 40-byte header as its plaintext and the values as associated data, so the tag
    // covers both while the values stay where they are (no copy on either side).
    private void Mac(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, Span<byte> tag)
    {
        Span<byte> discarded = stackalloc byte[FrameHeader.Size];
        _aes.Encrypt(nonce, header, discarded[..header.Length], tag, body);
    }

    private void NextNonce(Span<byte> nonce, long step)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(nonce, _sequence++);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], unchecked((uint)step));
    }

    public void Dispose() => _aes.Dispose();
}
