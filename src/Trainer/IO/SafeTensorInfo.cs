namespace FlatLora.Trainer.IO;

/// <summary>One header entry: dtype name, shape, and the byte range in the data section.</summary>
public sealed record SafeTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
