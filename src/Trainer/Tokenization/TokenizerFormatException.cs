namespace FlatLora.Trainer.Tokenization;

/// <summary>A tokenizer file that cannot be used, naming the file and the field.</summary>
public sealed class TokenizerFormatException(string file, string problem) : Exception($"{file}: {problem}")
{
    public string File { get; } = file;
}
