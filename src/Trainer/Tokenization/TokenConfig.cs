using System.Text.Json;

namespace FlatLora.Trainer.Tokenization;

/// <summary>Special-token settings from <c>tokenizer_config.json</c>, completed by <c>special_tokens_map.json</c>.</summary>
public sealed record TokenConfig(string? BosToken = null, string? EosToken = null, string? PadToken = null, bool? AddBos = null)
{
    public static TokenConfig Read(string directory)
    {
        var config = new TokenConfig();
        foreach (string file in new[] { "special_tokens_map.json", "tokenizer_config.json" })
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
                continue;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(File.ReadAllText(path));
            }
            catch (JsonException e)
            {
                throw new TokenizerFormatException(path, $"invalid JSON ({e.Message})");
            }
            using (document)
            {
                JsonElement root = document.RootElement;
                config = config with
                {
                    BosToken = Token(root, "bos_token") ?? config.BosToken,
                    EosToken = Token(root, "eos_token") ?? config.EosToken,
                    PadToken = Token(root, "pad_token") ?? config.PadToken,
                    AddBos = root.TryGetProperty("add_bos_token", out JsonElement add) && add.ValueKind is JsonValueKind.True or JsonValueKind.False
                        ? add.GetBoolean()
                        : config.AddBos,
                };
            }
        }
        return config;
    }

    // A token is either a string or an AddedToken object {"content": ...}.
    private static string? Token(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out JsonElement c) => c.GetString(),
            _ => null,
        } : null;
}
