using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Spec;

namespace FlatLora.Trainer.Training;

/// <summary>
/// The parts of a spec that decide the training math, as JSON. A checkpoint may only be resumed under a spec whose
/// math parts are equal; where it goes (output_dir, checkpoint cadence) and which device it runs on may change.
/// </summary>
public static class SpecFingerprint
{
    private static readonly string[] FreeToChange = ["output_dir", "checkpoint", "device"];

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Json(TrainSpec spec)
    {
        JsonObject node = JsonSerializer.SerializeToNode(spec, Options)!.AsObject();
        foreach (string key in FreeToChange)
            node.Remove(key);
        return node.ToJsonString();
    }

    /// <summary>The top-level sections that differ between two fingerprints (empty when compatible).</summary>
    public static IReadOnlyList<string> Differences(string a, string b)
    {
        JsonObject left = JsonNode.Parse(a)!.AsObject(), right = JsonNode.Parse(b)!.AsObject();
        return left.Select(p => p.Key).Union(right.Select(p => p.Key))
            .Where(key => !JsonNode.DeepEquals(left[key], right[key]))
            .ToList();
    }
}
