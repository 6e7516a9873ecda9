using System.Text;

namespace FlatLora.Trainer.Data;

/// <summary>
/// Lines of a UTF-8 file, decoded strictly one line at a time, so an invalid byte is reported on the line that
/// holds it (a StreamReader decodes ahead in blocks and cannot say which line failed).
/// </summary>
internal static class Utf8LineReader
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>(1-based line number, text, whether it ended without a newline); throws on invalid UTF-8.</summary>
    public static IEnumerable<(int Line, string Text, bool Unterminated)> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new MemoryStream();
        int line = 0;
        int value;
        while ((value = stream.ReadByte()) >= 0)
        {
            if (value != '\n')
            {
                buffer.WriteByte((byte)value);
                continue;
            }
            yield return (++line, Decode(path, line, buffer), false);
            buffer.SetLength(0);
        }
        if (buffer.Length > 0)
            yield return (++line, Decode(path, line, buffer), true);
    }

    private static string Decode(string path, int line, MemoryStream buffer)
    {
        ReadOnlySpan<byte> bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (line == 1 && bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            bytes = bytes[3..];
        if (bytes.Length > 0 && bytes[^1] == '\r')
            bytes = bytes[..^1];
        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new DataFormatException(path, line, $"not valid UTF-8 (byte offset {e.Index} in the line)");
        }
    }
}
