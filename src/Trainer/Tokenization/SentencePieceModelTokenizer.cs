using Microsoft.ML.Tokenizers;

namespace FlatLora.Trainer.Tokenization;

/// <summary>A SentencePiece <c>tokenizer.model</c> (Llama 2's original format), read by Microsoft.ML.Tokenizers' LlamaTokenizer.</summary>
public sealed class SentencePieceModelTokenizer : ITokenizer
{
    private readonly LlamaTokenizer _tokenizer;

    public SentencePieceModelTokenizer(string path, SpecialTokenIds? special = null)
    {
        using FileStream stream = File.OpenRead(path);
        try
        {
            _tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new TokenizerFormatException(path, $"not a readable SentencePiece model ({e.Message})");
        }
        VocabSize = _tokenizer.Vocabulary.Count;
        LongestTokenChars = _tokenizer.Vocabulary.Keys.Select(k => k.Length).DefaultIfEmpty(1).Max();
        BosId = special?.Bos ?? _tokenizer.BeginningOfSentenceId;
        EosId = special?.Eos ?? _tokenizer.EndOfSentenceId;
        PadId = special?.Pad ?? EosId;
        StopIds = special?.Stops ?? [EosId];
        ChatTemplate = new Llama2ChatTemplate(BosId ?? _tokenizer.BeginningOfSentenceId, EosId);
    }

    public int VocabSize { get; }
    public int? BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public int LongestTokenChars { get; }
    public IReadOnlyList<int> StopIds { get; }
    public IChatTemplate ChatTemplate { get; }

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text) =>
        _tokenizer.EncodeToTokens(text, out _, addBeginningOfSentence: false, addEndOfSentence: false)
            .Select(t => new TokenSpan(t.Id, t.Offset.Start.Value, t.Offset.End.Value - t.Offset.Start.Value))
            .ToList();

    public string Decode(IEnumerable<int> ids) =>
        _tokenizer.Decode(ids.Where(id => id != BosId && id != EosId && id != PadId));
}
