using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlatLora.Trainer.Flatness;

/// <summary>The flatness report as snake_case JSON (report.json, and stdout with --format json).</summary>
public static class FlatnessReportJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize(FlatnessReport report) => JsonSerializer.Serialize(report, Options);
}
