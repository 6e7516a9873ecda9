namespace FlatLora.Trainer.Tokenization;

/// <summary>A tokenizer for random-token runs: ids only, no text.</summary>
public sealed class IdOnlyTokenizer(int vocabSize) : ITokenizer
{
    public int VocabSize => vocabSize;
    public int? BosId => null;
    public int EosId => 0;
    public int PadId => 0;
    public int LongestTokenChars => 1;
    public IChatTemplate ChatTemplate { get; } = new RoleTagChatTemplate();

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text) =>
        throw new NotSupportedException("this benchmark tokenizer has no vocabulary; it only carries ids");

    public string Decode(IEnumerable<int> ids) => string.Join(' ', ids);
}
