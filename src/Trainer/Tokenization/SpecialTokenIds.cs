namespace FlatLora.Trainer.Tokenization;

/// <summary>The special ids a tokenizer folder declares (null where it declares none).</summary>
public sealed record SpecialTokenIds(int? Bos, int Eos, int? Pad, IReadOnlyList<int> Stops);
