using System.Text.Json;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tests.Fixtures;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Model;

/// <summary>Tiny random Llama models written as Hugging Face folders, with the real Llama-2-format tokenizer files.</summary>
internal static class HuggingFaceFixture
{
    public static LlamaConfig Config(bool tie = false) => TestModels.Config(layers: 2, hidden: 32) with
    {
        VocabSize = 32000,
        TieWordEmbeddings = tie,
        BosTokenId = 1,
        EosTokenIdRaw = JsonSerializer.SerializeToElement(2),
    };

    public static string Write(string directory, bool tie = false, long seed = 3)
    {
        Directory.CreateDirectory(directory);
        LlamaConfig config = Config(tie);
        using var model = new LlamaForCausalLM(config, float32, CPU);
        model.InitializeWeights(seed);
        SafeTensorsWriter.Write(Path.Combine(directory, "model.safetensors"), model.state_dict().Select(p => (p.Key, p.Value)).ToList());
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config));
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(NpmPackage.Llama2TokenizerDirectory, file), Path.Combine(directory, file));
        return directory;
    }
}
