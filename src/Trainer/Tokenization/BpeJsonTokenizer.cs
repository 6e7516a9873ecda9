using System.Text;
using Microsoft.ML.Tokenizers;

namespace FlatLora.Trainer.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> BPE model on top of Microsoft.ML.Tokenizers' BPE, in one of two families:
/// <list type="bullet">
/// <item>byte-level (GPT-2, Llama 3): regex pre-tokenization, bytes mapped to printable symbols; the library does it all;</item>
/// <item>SentencePiece-style (Llama 2, Mistral): spaces become ▁ and one ▁ is prepended; characters missing from the
/// vocabulary fall back to their UTF-8 bytes as &lt;0xNN&gt; tokens. The library has no byte fallback, so its
/// &lt;unk&gt; tokens are expanded here, which is exactly what SentencePiece does (merges never involve unknown characters).</item>
/// </list>
/// Special tokens are never parsed out of text: text is data, and special tokens enter only as ids (chat templates).
/// </summary>
public sealed class BpeJsonTokenizer : ITokenizer
{
    private const char Metaspace = '\u2581';
    private readonly BpeTokenizer _bpe;
    private readonly bool _sentencePiece;
    private readonly int? _unknownId;
    private readonly int[]? _byteTokenIds;              // <0x00>..<0xFF> for byte fallback
    private readonly Dictionary<int, string> _idToToken;
    private readonly HashSet<int> _specialIds;
    private readonly bool _splitsAtWords;

    /// <param name="splitsAtWords">
    /// No token spans a word separator that follows another character (see <see cref="TextChunks"/>), so long text can be
    /// encoded in pieces with the same result.
    /// </param>
    internal BpeJsonTokenizer(BpeTokenizer bpe, bool sentencePiece, int? unknownId, int[]? byteTokenIds,
        Dictionary<int, string> idToToken, HashSet<int> specialIds, SpecialTokenIds special, IChatTemplate? chatTemplate, bool splitsAtWords,
        int longestTokenChars)
    {
        _splitsAtWords = splitsAtWords;
        LongestTokenChars = longestTokenChars;
        _bpe = bpe;
        _sentencePiece = sentencePiece;
        _unknownId = unknownId;
        _byteTokenIds = byteTokenIds;
        _idToToken = idToToken;
        _specialIds = specialIds;
        VocabSize = idToToken.Count == 0 ? 0 : idToToken.Keys.Max() + 1;
        BosId = special.Bos;
        EosId = special.Eos;
        PadId = special.Pad ?? special.Eos;
        StopIds = special.Stops;
        ChatTemplate = chatTemplate ?? new RoleTagChatTemplate();
    }

    public int VocabSize { get; }
    public int? BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public IReadOnlyList<int> StopIds { get; }
    public IChatTemplate ChatTemplate { get; }
    public bool IsSentencePieceStyle => _sentencePiece;
    public int LongestTokenChars { get; }

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text)
    {
        if (text.Length == 0)
            return [];
        var spans = new List<TokenSpan>();
        if (!_sentencePiece)
        {
            foreach ((int at, int length) in Pieces(text, ' '))
            {
                foreach (EncodedToken token in _bpe.EncodeToTokens(text.AsSpan(at, length), out _))
                    spans.Add(new TokenSpan(token.Id, at + token.Offset.Start.Value, token.Offset.End.Value - token.Offset.Start.Value));
            }
            return spans;
        }

        string normalized = Metaspace + text.Replace(' ', Metaspace);
        foreach ((int at, int length) in Pieces(normalized, Metaspace))
        {
            foreach (EncodedToken token in _bpe.EncodeToTokens(normalized.AsSpan(at, length), out _, considerPreTokenization: false, considerNormalization: false))
                AddSentencePiece(spans, normalized, at + token.Offset.Start.Value, at + token.Offset.End.Value, token.Id);
        }
        return spans;
    }

    /// <summary>Encoding the whole text in one call, as the library does it (tests compare <see cref="EncodeWithOffsets"/> with it).</summary>
    internal IReadOnlyList<int> EncodeInOneCall(string text)
    {
        if (!_sentencePiece)
            return _bpe.EncodeToTokens(text, out _).Select(t => t.Id).ToList();
        string normalized = Metaspace + text.Replace(' ', Metaspace);
        var spans = new List<TokenSpan>();
        foreach (EncodedToken token in _bpe.EncodeToTokens(normalized, out _, considerPreTokenization: false, considerNormalization: false))
            AddSentencePiece(spans, normalized, token.Offset.Start.Value, token.Offset.End.Value, token.Id);
        return spans.Select(s => s.Id).ToList();
    }

    private IEnumerable<(int Start, int Length)> Pieces(string text, char separator) =>
        _splitsAtWords ? TextChunks.Split(text, separator) : [(0, text.Length)];

    private void AddSentencePiece(List<TokenSpan> spans, string normalized, int start, int end, int id)
    {
        // Offsets in the normalized text are one past the original's (the prepended ▁).
        int originalStart = Math.Max(0, start - 1), originalLength = Math.Max(0, end - 1) - originalStart;
        if (id == _unknownId && _byteTokenIds is not null)
        {
            foreach (byte b in Encoding.UTF8.GetBytes(normalized[start..end]))
                spans.Add(new TokenSpan(_byteTokenIds[b], originalStart, originalLength));
        }
        else
        {
            spans.Add(new TokenSpan(id, originalStart, originalLength));
        }
    }

    public string Decode(IEnumerable<int> ids)
    {
        var kept = ids.Where(id => !_specialIds.Contains(id)).ToList();
        if (!_sentencePiece)
            return _bpe.Decode(kept);
        var bytes = new List<byte>();
        foreach (int id in kept)
        {
            if (!_idToToken.TryGetValue(id, out string? token))
                continue;
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
                byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte raw))
                bytes.Add(raw);
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(token.Replace(Metaspace, ' ')));
        }
        string decoded = Encoding.UTF8.GetString(bytes.ToArray());
        return decoded.StartsWith(' ') ? decoded[1..] : decoded;   // the ▁ the encoder prepended
    }
}
