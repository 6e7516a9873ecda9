using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using TorchSharp.Modules;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Loads base weights by name from one or more safetensors files, tensor by tensor. Strict: every base parameter
/// must be found once with the right shape, and every file tensor must belong to the model; errors name the file
/// and the tensor. LoRA parameters are left alone.
/// </summary>
public static class WeightLoader
{
    // Buffers some Hugging Face exports still carry; they are derived from the config, not weights.
    private static readonly string[] IgnorableSuffixes = [".rotary_emb.inv_freq"];

    private static string Describe(LlamaConfig c) =>
        $"hidden_size={c.HiddenSize}, intermediate_size={c.IntermediateSize}, num_attention_heads={c.NumAttentionHeads}, " +
        $"num_key_value_heads={c.KeyValueHeads}, vocab_size={c.VocabSize}";

    public static void LoadBaseWeights(LlamaForCausalLM model, IReadOnlyList<string> files, CancellationToken cancellationToken = default)
    {
        var opened = files.Select(SafeTensorsFile.Open).ToList();
        try
        {
            var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (SafeTensorsFile file in opened)
            {
                foreach (string name in file.Tensors.Keys)
                {
                    if (owner.TryGetValue(name, out SafeTensorsFile? first))
                        throw new SafeTensorsFormatException(file.FilePath, $"also stored in {first.FilePath}", name);
                    owner[name] = file;
                }
            }
            var parameters = model.named_parameters().Where(p => !LoraInjector.IsLoraName(p.name)).ToList();
            var expected = parameters.Select(p => p.name).ToHashSet(StringComparer.Ordinal);
            // A tied head reads the embeddings; a checkpoint may still carry a copy of it.
            bool tied = model.Config.TieWordEmbeddings;
            var missing = expected.Where(n => !owner.ContainsKey(n)).ToList();
            if (missing.Count > 0)
                throw new SafeTensorsFormatException(files[0],
                    $"{missing.Count} model tensor(s) missing from the checkpoint, e.g. '{missing[0]}' (is config.json for these weights?)");
            foreach ((string name, SafeTensorsFile file) in owner)
            {
                bool ignorable = IgnorableSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal)) || (tied && name == "lm_head.weight");
                if (!expected.Contains(name) && !ignorable)
                    throw new SafeTensorsFormatException(file.FilePath,
                        $"not a parameter of the model config.json describes (num_hidden_layers={model.Config.NumHiddenLayers}, tie_word_embeddings={model.Config.TieWordEmbeddings}); extra tensor or wrong config?", name);
            }
            foreach ((string name, Parameter parameter) in parameters)
            {
                cancellationToken.ThrowIfCancellationRequested();
                SafeTensorsFile file = owner[name];
                long[] stored = file.Info(name).Shape;
                if (!stored.SequenceEqual(parameter.shape))
                    throw new SafeTensorsFormatException(file.FilePath,
                        $"stored shape [{string.Join(", ", stored)}] disagrees with the [{string.Join(", ", parameter.shape)}] that config.json implies " +
                        $"({Describe(model.Config)}); is config.json for these weights?", name);
                file.ReadInto(name, parameter);
                // A model whose weights are NaN still "generates" (one token over and over): refuse it here instead.
                using var finite = parameter.isfinite();
                using var allFinite = finite.all();
                if (!allFinite.item<bool>())
                    throw new SafeTensorsFormatException(file.FilePath, "holds NaN or infinite values (a corrupt or diverged checkpoint)", name);
            }
        }
        finally
        {
            foreach (SafeTensorsFile file in opened)
                file.Dispose();
        }
    }
}
