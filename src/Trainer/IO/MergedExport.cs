using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.IO;

/// <summary>
/// Writes a model with its LoRA merged (W + s·BA) as a plain Hugging Face folder that <c>transformers</c> loads:
/// <c>config.json</c>, weights in one file or shards with <c>model.safetensors.index.json</c>, and the base folder's
/// tokenizer files. Merged weights are computed one tensor at a time; the model's own weights are not modified.
/// </summary>
public static class MergedExport
{
    public const long DefaultShardBytes = 5L << 30;   // transformers' default max_shard_size
    private static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    /// <param name="baseFolder">The base model's folder: its config.json and tokenizer files are carried over (null: none).</param>
    public static IReadOnlyList<string> Write(LlamaForCausalLM model, string directory, string? baseFolder = null,
        long maxShardBytes = DefaultShardBytes, CancellationToken cancellationToken = default)
    {
        if (maxShardBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxShardBytes), maxShardBytes, "the shard size must be positive");
        Directory.CreateDirectory(directory);
        var layers = LoraInjector.LoraLayers(model).ToDictionary(l => l.Path + ".weight", StringComparer.Ordinal);
        var sources = model.state_dict()
            .Where(p => !LoraInjector.IsLoraName(p.Key))
            .Select(p => layers.TryGetValue(p.Key, out LoraLinear? layer)
                ? new TensorSource(p.Key, p.Value.dtype, p.Value.shape, () => { cancellationToken.ThrowIfCancellationRequested(); return layer.MergedWeight(); })
                : new TensorSource(p.Key, p.Value.dtype, p.Value.shape, () => { cancellationToken.ThrowIfCancellationRequested(); return p.Value.detach(); }))
            .ToList();

        var shards = new List<List<TensorSource>> { new() };
        long shardBytes = 0, totalBytes = 0;
        foreach (TensorSource source in sources)
        {
            long bytes = source.Shape.Aggregate(1L, (a, b) => a * b) * SafeTensorsDtype.ElementSize(SafeTensorsDtype.Name(source.Dtype));
            if (shardBytes > 0 && shardBytes + bytes > maxShardBytes)
            {
                shards.Add([]);
                shardBytes = 0;
            }
            shards[^1].Add(source);
            shardBytes += bytes;
            totalBytes += bytes;
        }

        var written = new List<string>();
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (shards.Count == 1)
        {
            string path = Path.Combine(directory, "model.safetensors");
            SafeTensorsWriter.Write(path, shards[0], metadata);
            written.Add(path);
        }
        else
        {
            var weightMap = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                string name = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors");
                SafeTensorsWriter.Write(Path.Combine(directory, name), shards[i], metadata);
                written.Add(Path.Combine(directory, name));
                foreach (TensorSource source in shards[i])
                    weightMap[source.Name] = name;
            }
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = totalBytes }, ["weight_map"] = weightMap };
            File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), index.ToJsonString(Indented));
        }
        WriteConfig(model, directory, baseFolder);
        CopyTokenizer(baseFolder, directory);
        return written;
    }

    /// <summary>
    /// The base folder's config.json as it was, with only <c>torch_dtype</c> changed: every field kept, every number in
    /// its JSON type (transformers warns on a rope factor written as 8 instead of 8.0). Without a base config (the
    /// built-in tiny model) the model's own config is written.
    /// </summary>
    private static void WriteConfig(LlamaForCausalLM model, string directory, string? baseFolder)
    {
        string dtype = model.Dtype switch
        {
            ScalarType.BFloat16 => "bfloat16",
            ScalarType.Float16 => "float16",
            _ => "float32",
        };
        string? baseConfig = baseFolder is null ? null : Path.Combine(baseFolder, "config.json");
        JsonObject config = baseConfig is not null && File.Exists(baseConfig)
            ? JsonNode.Parse(File.ReadAllText(baseConfig))?.AsObject() ?? throw new InvalidDataException($"{baseConfig}: not a JSON object")
            : JsonSerializer.SerializeToNode(model.Config)!.AsObject();
        config["torch_dtype"] = dtype;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString(Indented));
    }

    private static void CopyTokenizer(string? source, string directory)
    {
        if (source is null || !Directory.Exists(source))
            return;
        foreach (string file in TokenizerFiles)
        {
            string from = Path.Combine(source, file);
            if (File.Exists(from))
                File.Copy(from, Path.Combine(directory, file), overwrite: true);
        }
    }

    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
