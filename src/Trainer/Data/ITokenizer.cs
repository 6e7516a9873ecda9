namespace FlatLora.Trainer.Data;

/// <summary>Text ↔ token ids, plus the special ids training needs.</summary>
public interface ITokenizer
{
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or null when the model uses none.</summary>
    int? BosId { get; }

    int EosId { get; }
    int PadId { get; }

    /// <summary>Ids of <paramref name="text"/> without special tokens.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>Text of <paramref name="ids"/>, skipping special tokens.</summary>
    string Decode(IEnumerable<int> ids);
}
