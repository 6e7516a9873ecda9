using System.Text;

namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// UTF-8 bytes as tokens (ids 0..255) plus bos/eos/pad, for the built-in tiny models: no vocabulary file, every
/// string encodable, and a round trip that is exact.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    public const int Bos = 256;
    public const int Eos = 257;
    public const int Pad = 258;

    public int VocabSize => 259;
    public int? BosId => Bos;
    public int EosId => Eos;
    public int PadId => Pad;
    public int LongestTokenChars => 2;   // a surrogate pair's bytes each cover both chars
    public IChatTemplate ChatTemplate { get; } = new RoleTagChatTemplate();

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text)
    {
        var spans = new List<TokenSpan>(text.Length);
        Span<byte> buffer = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            int width = char.IsSurrogatePair(text, i) ? 2 : 1;
            int count = Encoding.UTF8.GetBytes(text.AsSpan(i, width), buffer);
            for (int b = 0; b < count; b++)
                spans.Add(new TokenSpan(buffer[b], i, width));
            i += width - 1;
        }
        return spans;
    }

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(id => id is >= 0 and < 256).Select(id => (byte)id).ToArray());
}
