using System.Text.Json.Nodes;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Model;

public class PeftAndMergeTests
{
    private static readonly LoraOptions Options = new(4, 8, 0, ["q_proj", "v_proj", "down_proj"]);

    private static Trainer.Model.LlamaForCausalLM TrainedLoraModel(BaseModel baseModel, long seed)
    {
        var model = LoraInjector.Build(baseModel.Config, Options, float32, CPU, seed);
        WeightLoader.LoadBaseWeights(model, baseModel.WeightFiles);
        var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (LoraLinear layer in LoraInjector.LoraLayers(model))
                layer.LoraB.copy_(randn(layer.LoraB.shape, generator: generator) * 0.05);
        }
        model.eval();
        return model;
    }

    [Fact]
    public void Adapter_files_have_peft_names_and_config_fields()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("base")));
        using var model = TrainedLoraModel(baseModel, 1);
        PeftAdapter.Save(dir.File("adapter"), model, Options, "meta-llama/Llama-2-7b-hf");
        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter/adapter_config.json")))!;
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal("CAUSAL_LM", config["task_type"]!.GetValue<string>());
        Assert.Equal(4, config["r"]!.GetValue<int>());
        Assert.Equal(8, config["lora_alpha"]!.GetValue<double>());
        Assert.Equal("none", config["bias"]!.GetValue<string>());
        Assert.False(config["fan_in_fan_out"]!.GetValue<bool>());
        Assert.Equal("meta-llama/Llama-2-7b-hf", config["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(["down_proj", "q_proj", "v_proj"], config["target_modules"]!.AsArray().Select(t => t!.GetValue<string>()));
        using var file = SafeTensorsFile.Open(dir.File("adapter/adapter_model.safetensors"));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", file.Tensors.Keys);
        Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", file.Tensors.Keys);
        Assert.Equal(2 * 3 * 2, file.Tensors.Count);
        Assert.Equal([4L, 32L], file.Tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].Shape);
    }

    [Fact]
    public void Export_then_import_is_exact()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("base")));
        using var trained = TrainedLoraModel(baseModel, 1);
        PeftAdapter.Save(dir.File("adapter"), trained, Options, baseModel.Name);
        using var loaded = ModelLoader.Load(baseModel, dir.File("adapter"), float32, CPU);
        var expected = LoraInjector.LoraParameters(trained);
        var actual = LoraInjector.LoraParameters(loaded);
        Assert.Equal(expected.Select(p => p.Name), actual.Select(p => p.Name));
        Assert.All(expected.Zip(actual), pair => Assert.True(TestModels.BitEqual(pair.First.Parameter, pair.Second.Parameter)));
        using var ids = tensor(new long[] { 1, 22557, 1526, 28725 }, [1, 4]);
        Assert.True(TestModels.BitEqual(trained.forward(ids), loaded.forward(ids)));
    }

    [Fact]
    public void An_adapter_written_in_bf16_by_another_tool_loads_and_converts()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("base")));
        using var trained = TrainedLoraModel(baseModel, 2);
        PeftAdapter.Save(dir.File("adapter"), trained, Options, baseModel.Name);
        string weights = dir.File("adapter/adapter_model.safetensors");
        List<(string, Tensor)> bf16;
        using (var file = SafeTensorsFile.Open(weights))
            bf16 = file.Tensors.Keys.Select(k => (k, file.Read(k, bfloat16))).ToList();
        SafeTensorsWriter.Write(weights, bf16);
        using var loaded = ModelLoader.Load(baseModel, dir.File("adapter"), float32, CPU);
        var a = LoraInjector.LoraParameters(loaded)[0].Parameter;
        Assert.Equal(float32, a.dtype);
        Assert.True(a.allclose(LoraInjector.LoraParameters(trained)[0].Parameter, 1e-2, 1e-2));
    }

    [Fact]
    public void An_adapter_for_other_layers_is_refused_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("base")));
        using var trained = TrainedLoraModel(baseModel, 1);
        PeftAdapter.Save(dir.File("adapter"), trained, Options, baseModel.Name);
        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter/adapter_config.json")))!;
        config["target_modules"] = new JsonArray("q_proj", "v_proj");
        File.WriteAllText(dir.File("adapter/adapter_config.json"), config.ToJsonString());
        var error = Assert.Throws<SafeTensorsFormatException>(() => ModelLoader.Load(baseModel, dir.File("adapter"), float32, CPU));
        Assert.Contains("down_proj.lora_", error.Message);
        config["r"] = 4;
        config["use_dora"] = true;
        File.WriteAllText(dir.File("adapter/adapter_config.json"), config.ToJsonString());
        Assert.Contains("DoRA", Assert.Throws<InvalidDataException>(() => PeftAdapter.ReadOptions(dir.File("adapter"))).Message);
    }

    [Theory]
    [InlineData(1L << 40, 1)]
    [InlineData(300_000L, 3)]   // each 4 MB embedding matrix needs a shard of its own: [embed], [layers], [norm, lm_head]
    public void A_merged_export_loads_as_a_plain_model_with_the_same_outputs(long shardBytes, int expectedFiles)
    {
        using var dir = new TempDirectory();
        string baseFolder = HuggingFaceFixture.Write(dir.File("base"));
        BaseModel baseModel = HuggingFaceModelFolder.Load(baseFolder);
        using var trained = TrainedLoraModel(baseModel, 3);
        var before = TestModels.Snapshot(LoraInjector.LoraLayers(trained).Select(l => (Tensor)l.Weight));
        IReadOnlyList<string> files = MergedExport.Write(trained, dir.File("merged"), baseFolder, shardBytes);
        Assert.Equal(expectedFiles, files.Count);
        Assert.Equal(expectedFiles > 1, File.Exists(dir.File("merged/model.safetensors.index.json")));
        Assert.True(File.Exists(dir.File("merged/tokenizer.json")));
        // Export reads the weights; it never merges in place.
        Assert.All(before.Zip(LoraInjector.LoraLayers(trained)), p => Assert.True(TestModels.BitEqual(p.First, p.Second.Weight)));

        BaseModel merged = HuggingFaceModelFolder.Load(dir.File("merged"));
        using var plain = ModelLoader.Load(merged, null, float32, CPU);
        using var ids = tensor(new long[] { 1, 22557, 1526, 28725, 586 }, [1, 5]);
        Tensor expected = trained.forward(ids), actual = plain.forward(ids);
        Assert.True(expected.allclose(actual, 1e-4, 1e-5), $"max diff {(expected - actual).abs().max().item<float>()}");
    }
}
