using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlatLora.Trainer.Data;

/// <summary>
/// <c>data.columns</c>: a dataset's own column names mapped onto the roles the layouts read, for example
/// <c>{prompt: question, response: answer}</c>. Roles: prompt, response, instruction, input, messages, text, label.
/// The mapping also fixes the layout: instruction → alpaca, prompt → prompt_completion, messages → messages,
/// text → classification; response is the layout's answer (output or completion). Columns not named are ignored.
/// </summary>
public sealed class DataColumns
{
    public static readonly IReadOnlyList<string> Roles = ["prompt", "response", "instruction", "input", "messages", "text", "label"];

    public static readonly DataColumns None = new(new Dictionary<string, string>());

    private readonly IReadOnlyDictionary<string, string> _byRole;
    private readonly List<(string Column, string Key, string Role)> _renames;

    public DataColumns(IReadOnlyDictionary<string, string> byRole)
    {
        _byRole = byRole;
        foreach (string role in byRole.Keys.Where(r => !Roles.Contains(r)))
            throw new ArgumentException($"data.columns.{role}: unknown role (expected one of: {string.Join(", ", Roles)})");
        Layout = byRole.ContainsKey("instruction") ? "alpaca"
            : byRole.ContainsKey("messages") ? "messages"
            : byRole.ContainsKey("text") ? "classification"
            : byRole.ContainsKey("prompt") || byRole.ContainsKey("response") ? "prompt_completion"
            : null;
        _renames = byRole.Select(p => (p.Value, Key(p.Key), p.Key)).ToList();
    }

    /// <summary>The layout the mapping implies (null: none mapped, detect from the keys).</summary>
    public string? Layout { get; }

    public bool IsEmpty => _byRole.Count == 0;

    private string Key(string role) => role switch
    {
        "response" => Layout == "alpaca" ? "output" : Layout == "classification" ? "label" : "completion",
        _ => role,
    };

    /// <summary>The record with each mapped column under its role's key; a mapped column the record lacks is an error naming both.</summary>
    public JsonElement Apply(JsonElement record, string path, int line)
    {
        if (IsEmpty)
            return record;
        var mapped = new JsonObject();
        foreach ((string column, string key, string role) in _renames)
        {
            if (!record.TryGetProperty(column, out JsonElement value))
                throw new DataFormatException(path, line,
                    $"no column '{column}' (data.columns.{role}); the record has: {string.Join(", ", record.EnumerateObject().Select(p => p.Name))}");
            mapped[key] = JsonNode.Parse(value.GetRawText());
        }
        return JsonSerializer.SerializeToElement(mapped);
    }
}
