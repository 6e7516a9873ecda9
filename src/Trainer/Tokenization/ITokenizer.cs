namespace FlatLora.Trainer.Tokenization;

/// <summary>A token id and the characters of the input it covers.</summary>
public readonly record struct TokenSpan(int Id, int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>Text ↔ token ids, plus the special ids training and generation need.</summary>
public interface ITokenizer
{
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or null when the model uses none.</summary>
    int? BosId { get; }

    int EosId { get; }
    int PadId { get; }

    /// <summary>Ids that end a generated answer (eos, and e.g. Llama 3's end-of-turn).</summary>
    IReadOnlyList<int> StopIds => [EosId];

    /// <summary>
    /// The most characters of input one token covers (an upper bound): n tokens never cover more than n times this, so
    /// an example can be cut to what its first max_seq_len tokens need before the rest is tokenized.
    /// </summary>
    int LongestTokenChars { get; }

    /// <summary>How chat messages become tokens for this model family.</summary>
    IChatTemplate ChatTemplate { get; }

    /// <summary>Ids of <paramref name="text"/> without special tokens (special-token text is encoded as plain text).</summary>
    IReadOnlyList<int> Encode(string text) => EncodeWithOffsets(text).Select(t => t.Id).ToArray();

    /// <summary>Ids with the span of <paramref name="text"/> each covers.</summary>
    IReadOnlyList<TokenSpan> EncodeWithOffsets(string text);

    /// <summary>Text of <paramref name="ids"/>, skipping special tokens.</summary>
    string Decode(IEnumerable<int> ids);
}
