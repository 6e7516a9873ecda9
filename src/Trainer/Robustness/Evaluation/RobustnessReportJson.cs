using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>The report as snake_case JSON (what `--out report.json` writes and the HTML report embeds).</summary>
public static class RobustnessReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize(RobustnessReport report) => JsonSerializer.Serialize(report, Options);
}
