using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using TorchSharp.Modules;

namespace FlatLora.Trainer.Models;

/// <summary>
/// Loads base weights by name from one or more safetensors files, tensor by tensor. Strict: every base parameter
/// must be found once with the right shape, and every file tensor must belong to the model; errors name the file
/// and the tensor. LoRA parameters are left alone.
/// </summary>
public static class WeightLoader
{
    // Buffers some Hugging Face exports still carry; they are derived from the config, not weights.
    private static readonly string[] IgnorableSuffixes = [".rotary_emb.inv_freq"];

    public static void LoadBaseWeights(LlamaForCausalLM model, IReadOnlyList<string> files)
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
                    throw new SafeTensorsFormatException(file.FilePath, "not a parameter of this model (extra tensor; wrong architecture?)", name);
            }
            foreach ((string name, Parameter parameter) in parameters)
                owner[name].ReadInto(name, parameter);
        }
        finally
        {
            foreach (SafeTensorsFile file in opened)
                file.Dispose();
        }
    }
}
