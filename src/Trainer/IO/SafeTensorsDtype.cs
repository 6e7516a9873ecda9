using static TorchSharp.torch;

namespace FlatLora.Trainer.IO;

/// <summary>safetensors dtype names ↔ torch dtypes.</summary>
public static class SafeTensorsDtype
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByName = new()
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static bool IsSupported(string name) => ByName.ContainsKey(name);

    public static ScalarType ToScalarType(string name) => ByName[name].Type;

    public static int ElementSize(string name) => ByName[name].Size;

    public static string Name(ScalarType type) =>
        ByName.FirstOrDefault(pair => pair.Value.Type == type).Key
        ?? throw new NotSupportedException($"dtype {type} cannot be stored in safetensors by this writer");

    public static string Supported => string.Join(", ", ByName.Keys);
}
