namespace FlatLora.Trainer.IO;

/// <summary>A safetensors file that cannot be read, naming the file and, where it applies, the tensor.</summary>
public sealed class SafeTensorsFormatException : Exception
{
    public SafeTensorsFormatException(string file, string problem, string? tensor = null)
        : base(tensor is null ? $"{file}: {problem}" : $"{file}: tensor '{tensor}': {problem}")
    {
        File = file;
        Tensor = tensor;
    }

    public string File { get; }
    public string? Tensor { get; }
}
