using FlatLora.Trainer.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Lora;

/// <summary>Decides where LoRA goes: a <see cref="LinearFactory"/> that wraps the targeted projections.</summary>
public static class LoraInjector
{
    /// <param name="dropout">Where training draws dropout masks (each LoRA layer its own stream, numbered in build order).</param>
    public static LinearFactory Factory(LoraOptions options, ScalarType dtype, Device device, DropoutStreams? dropout = null)
    {
        var targets = options.Targets.ToHashSet(StringComparer.Ordinal);
        LinearFactory plain = LlamaForCausalLM.PlainLinear(dtype, device);
        int ordinal = 0;
        return (path, inFeatures, outFeatures) =>
        {
            string name = path[(path.LastIndexOf('.') + 1)..];
            return targets.Contains(name)
                ? new LoraLinear(path, inFeatures, outFeatures, options, dtype, device, dropout, ordinal++)
                : plain(path, inFeatures, outFeatures);
        };
    }

    /// <summary>Builds a Llama model with LoRA on the target layers, base frozen, LoRA initialised from the run seed.</summary>
    /// <param name="dropout">The run's dropout streams, for a model that trains with lora.dropout > 0.</param>
    public static LlamaForCausalLM Build(LlamaConfig config, LoraOptions options, ScalarType dtype, Device device, long runSeed,
        DropoutStreams? dropout = null)
    {
        var model = new LlamaForCausalLM(config, dtype, device, Factory(options, dtype, device, dropout));
        FreezeBase(model);
        foreach (LoraLinear layer in LoraLayers(model))
            layer.ResetLora(runSeed);
        return model;
    }

    /// <summary>LoRA layers in model order (the order fixes each layer's Flat-LoRA noise stream).</summary>
    public static IReadOnlyList<LoraLinear> LoraLayers(nn.Module model) =>
        model.named_modules().Select(m => m.module).OfType<LoraLinear>().ToList();

    /// <summary>The trainable parameters: every lora_A / lora_B weight, in model order.</summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> LoraParameters(nn.Module model) =>
        model.named_parameters().Where(p => IsLoraName(p.name)).ToList();

    public static void FreezeBase(nn.Module model)
    {
        foreach ((string name, Parameter parameter) in model.named_parameters())
            parameter.requires_grad = IsLoraName(name);
    }

    /// <summary>The decoder layer a parameter belongs to ("model.layers.3.self_attn…" → 3); 0 for one outside the layers.</summary>
    public static int DecoderLayer(string name)
    {
        const string marker = "layers.";
        int at = name.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
            return 0;
        int start = at + marker.Length, end = start;
        while (end < name.Length && char.IsAsciiDigit(name[end]))
            end++;
        return end > start ? int.Parse(name.AsSpan(start, end - start), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    public static bool IsLoraName(string name) =>
        name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);
}
