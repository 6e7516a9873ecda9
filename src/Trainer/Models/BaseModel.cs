using FlatLora.Trainer.Data;
using FlatLora.Trainer.Model;

namespace FlatLora.Trainer.Models;

/// <summary>A frozen base model ready to build: its architecture, tokenizer and weight files.</summary>
public sealed record BaseModel(string Name, LlamaConfig Config, ITokenizer Tokenizer, IReadOnlyList<string> WeightFiles);
