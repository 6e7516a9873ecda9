using System.Text.Json;

namespace FlatLora.Spec;

/// <summary>Specs and reports as snake_case JSON: for deep copies, the wire (Orleans' JSON codec) and storage.</summary>
public static class SpecJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
        // Reports (a loss before the first step) may hold NaN, which plain JSON has no number for.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // A spec file's text: absent sections are left out rather than written as null (which a spec file may not say).
    private static readonly JsonSerializerOptions FileOptions = new(Options)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize<T>(T spec) => JsonSerializer.Serialize(spec, Options);

    /// <summary>The spec as the text of a spec file (JSON, which YAML reads): <see cref="SpecLoader.LoadText{T}"/> reads it back to an equal spec.</summary>
    public static string ToSpecText<T>(T spec) => JsonSerializer.Serialize(spec, FileOptions);

    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)
        ?? throw new InvalidDataException("empty spec JSON");

    /// <summary>A deep copy, so overrides on it never touch the original.</summary>
    public static T Clone<T>(T spec) => Deserialize<T>(Serialize(spec));
}
