namespace FlatLora.Grains;

/// <summary>The grain storage every FlatLora grain persists to; hosts configure it (memory or Redis).</summary>
public static class StorageNames
{
    public const string Default = "flatlora";
}
