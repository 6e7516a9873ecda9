using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Model;

/// <summary>
/// A frozen base model ready to build: its architecture, tokenizer and weight files. <see cref="RandomInitSeed"/>
/// asks explicitly for random weights instead (benchmarks); a model never falls back to random weights by itself.
/// </summary>
public sealed record BaseModel(string Name, LlamaConfig Config, ITokenizer Tokenizer, IReadOnlyList<string> WeightFiles, long? RandomInitSeed = null)
{
    public static BaseModel Random(string name, LlamaConfig config, ITokenizer tokenizer, long seed) => new(name, config, tokenizer, [], seed);
}
