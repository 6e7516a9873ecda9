using System.Text.Json;

namespace FlatLora.Spec;

/// <summary>Specs as snake_case JSON: for deep copies, fingerprints and storage.</summary>
public static class SpecJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    public static string Serialize<T>(T spec) => JsonSerializer.Serialize(spec, Options);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new InvalidDataException("empty spec JSON");

    /// <summary>A deep copy, so overrides on it never touch the original.</summary>
    public static T Clone<T>(T spec) => Deserialize<T>(Serialize(spec));
}
