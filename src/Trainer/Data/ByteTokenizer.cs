using System.Text;

namespace FlatLora.Trainer.Data;

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

    public IReadOnlyList<int> Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(id => id is >= 0 and < 256).Select(id => (byte)id).ToArray());
}
