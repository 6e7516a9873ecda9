using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Trainer.Lora;
using static TorchSharp.torch;

namespace FlatLora.Trainer.IO;

/// <summary>
/// LoRA adapters in PEFT's on-disk format: <c>adapter_config.json</c> plus <c>adapter_model.safetensors</c> with keys
/// like <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>, so Python PEFT loads what we write
/// and we load what PEFT writes.
/// </summary>
public static class PeftAdapter
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    public const string KeyPrefix = "base_model.model.";

    public static void Save(string directory, nn.Module model, LoraOptions options, string baseModelNameOrPath)
    {
        Directory.CreateDirectory(directory);
        var tensors = LoraInjector.LoraParameters(model).Select(p => (KeyPrefix + p.Name, (Tensor)p.Parameter)).ToList();
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = options.Dropout,
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = options.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = new JsonArray(options.Targets.Order(StringComparer.Ordinal).Select(t => (JsonNode)t!).ToArray()),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = false,
        };
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads r, alpha, dropout and targets from an adapter folder's config.</summary>
    public static LoraOptions ReadOptions(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"not a PEFT adapter folder (no {ConfigFile}): {directory}", path);
        JsonNode config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e);
        }
        string peftType = config["peft_type"]?.GetValue<string>() ?? "";
        if (peftType != "LORA")
            throw new InvalidDataException($"{path}: peft_type is '{peftType}', only LORA adapters are supported");
        if (config["use_dora"]?.GetValue<bool>() == true || config["use_rslora"]?.GetValue<bool>() == true)
            throw new InvalidDataException($"{path}: DoRA and rsLoRA adapters are not supported");
        foreach (string perLayer in new[] { "rank_pattern", "alpha_pattern" })
        {
            if (config[perLayer] is JsonObject { Count: > 0 })
                throw new InvalidDataException($"{path}: per-layer {perLayer} is not supported (one r and lora_alpha for every layer)");
        }
        if (config["layers_to_transform"] is JsonNode layers && layers.GetValueKind() != System.Text.Json.JsonValueKind.Null)
            throw new InvalidDataException($"{path}: layers_to_transform is not supported (LoRA on every layer)");
        if (config["fan_in_fan_out"]?.GetValue<bool>() == true)
            throw new InvalidDataException($"{path}: fan_in_fan_out adapters (GPT-2 Conv1D layout) are not supported");
        if (config["bias"]?.GetValue<string>() is string bias && bias != "none")
            throw new InvalidDataException($"{path}: bias '{bias}' is not supported (none)");
        int rank = config["r"]?.GetValue<int>() ?? throw new InvalidDataException($"{path}: missing 'r'");
        double alpha = config["lora_alpha"]?.GetValue<double>() ?? throw new InvalidDataException($"{path}: missing 'lora_alpha'");
        double dropout = config["lora_dropout"]?.GetValue<double>() ?? 0;
        JsonNode? targetsNode = config["target_modules"];
        string[] targets = targetsNode switch
        {
            JsonArray array => array.Select(t => t!.GetValue<string>()).ToArray(),
            JsonValue value => [value.GetValue<string>()],
            _ => throw new InvalidDataException($"{path}: missing 'target_modules'"),
        };
        return new LoraOptions(rank, alpha, dropout, targets);
    }

    /// <summary>Copies the adapter's A and B into the model's LoRA layers; every LoRA parameter must be present and fit.</summary>
    public static void Load(string directory, nn.Module model)
    {
        string path = Path.Combine(directory, WeightsFile);
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        var expected = LoraInjector.LoraParameters(model);
        var missing = expected.Where(p => !file.Tensors.ContainsKey(KeyPrefix + p.Name)).Select(p => KeyPrefix + p.Name).ToList();
        if (missing.Count > 0)
            throw new SafeTensorsFormatException(path, $"adapter lacks {missing.Count} LoRA tensor(s) the model has, e.g. '{missing[0]}'");
        var known = expected.Select(p => KeyPrefix + p.Name).ToHashSet(StringComparer.Ordinal);
        string? extra = file.Tensors.Keys.FirstOrDefault(k => !known.Contains(k));
        if (extra is not null)
            throw new SafeTensorsFormatException(path, "adapter tensor has no LoRA layer in the model (different target_modules?)", extra);
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in expected)
            file.ReadInto(KeyPrefix + name, parameter);
    }
}
