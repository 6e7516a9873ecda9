using System.Text.Json;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Model;

/// <summary>
/// A Hugging Face model folder: <c>config.json</c>, weights as one <c>model.safetensors</c> or shards listed in
/// <c>model.safetensors.index.json</c>, and the tokenizer files. Every problem names the file it is in.
/// </summary>
public static class HuggingFaceModelFolder
{
    public const string ConfigFile = "config.json";
    public const string SingleWeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    public static BaseModel Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"model folder not found: {directory}");
        LlamaConfig config = ReadConfig(directory);
        IReadOnlyList<string> weights = WeightFiles(directory);
        ITokenizer tokenizer = HuggingFaceTokenizerLoader.Load(directory, config.BosTokenId, config.EosTokenIds);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException(
                $"{Path.Combine(directory, ConfigFile)}: vocab_size {config.VocabSize} is smaller than the tokenizer's {tokenizer.VocabSize} tokens");
        return new BaseModel(Path.GetFullPath(directory), config, tokenizer, weights);
    }

    public static LlamaConfig ReadConfig(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"not a Hugging Face model folder (no {ConfigFile}): {directory}", path);
        LlamaConfig config;
        try
        {
            config = JsonSerializer.Deserialize<LlamaConfig>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        if (config.ModelType != "llama")
            throw new InvalidDataException($"{path}: model_type '{config.ModelType}' is not supported (llama)");
        try
        {
            config.Validate();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(e.Message.Replace("config.json", path, StringComparison.Ordinal), e);
        }
        return config;
    }

    /// <summary>The safetensors files holding the weights, checked against the shard index when there is one.</summary>
    public static IReadOnlyList<string> WeightFiles(string directory)
    {
        string index = Path.Combine(directory, IndexFile);
        string single = Path.Combine(directory, SingleWeightsFile);
        if (File.Exists(index))
        {
            Dictionary<string, string> map = ReadIndex(index);
            var files = map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(f => Path.Combine(directory, f)).ToList();
            string? missing = files.FirstOrDefault(f => !File.Exists(f));
            if (missing is not null)
                throw new FileNotFoundException($"{index} lists {Path.GetFileName(missing)}, which is not in the folder", missing);
            CheckIndexAgainstShards(index, map, directory);
            return files;
        }
        if (File.Exists(single))
            return [single];
        if (Directory.EnumerateFiles(directory, "*.bin").Any())
            throw new NotSupportedException($"{directory}: PyTorch .bin checkpoints are not supported; convert them to safetensors");
        throw new FileNotFoundException($"no {SingleWeightsFile} or {IndexFile} in {directory}", single);
    }

    private static Dictionary<string, string> ReadIndex(string index)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllText(index));
            if (!document.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: no weight_map object");
            return map.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()
                ?? throw new InvalidDataException($"{index}: weight_map[{p.Name}] is not a file name"), StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index}: invalid JSON ({e.Message})", e);
        }
    }

    private static void CheckIndexAgainstShards(string index, Dictionary<string, string> map, string directory)
    {
        foreach (var shard in map.GroupBy(p => p.Value))
        {
            string path = Path.Combine(directory, shard.Key);
            using SafeTensorsFile file = SafeTensorsFile.Open(path);
            string? absent = shard.Select(p => p.Key).FirstOrDefault(name => !file.Tensors.ContainsKey(name));
            if (absent is not null)
                throw new SafeTensorsFormatException(path, $"{Path.GetFileName(index)} places this tensor here but the shard lacks it", absent);
        }
    }
}
