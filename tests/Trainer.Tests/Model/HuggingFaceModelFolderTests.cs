using System.Text.Json.Nodes;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Model;

public class HuggingFaceModelFolderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_folder_loads_with_config_weights_and_tokenizer(bool tie)
    {
        using var dir = new TempDirectory();
        string folder = HuggingFaceFixture.Write(dir.File("model"), tie);
        BaseModel baseModel = HuggingFaceModelFolder.Load(folder);
        Assert.Equal(32000, baseModel.Config.VocabSize);
        Assert.Equal(tie, baseModel.Config.TieWordEmbeddings);
        Assert.Equal(1, baseModel.Tokenizer.BosId);
        using var model = ModelLoader.Load(baseModel, null, float32, CPU);
        using var reference = new LlamaForCausalLM(baseModel.Config, float32, CPU);
        reference.InitializeWeights(3);
        using var ids = tensor(new long[] { 1, 22557, 1526 }, [1, 3]);
        Assert.True(TestModels.BitEqual(reference.forward(ids), model.forward(ids)));
    }

    [Fact]
    public void Weights_convert_to_the_run_dtype_on_load()
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = HuggingFaceModelFolder.Load(HuggingFaceFixture.Write(dir.File("model")));
        using var model = ModelLoader.Load(baseModel, null, bfloat16, CPU);
        Assert.All(model.parameters(), p => Assert.Equal(bfloat16, p.dtype));
    }

    [Fact]
    public void A_config_that_disagrees_with_the_weights_names_config_json_and_the_tensor()
    {
        using var dir = new TempDirectory();
        string folder = HuggingFaceFixture.Write(dir.File("model"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        config["intermediate_size"] = 99;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        BaseModel baseModel = HuggingFaceModelFolder.Load(folder);
        var error = Assert.Throws<SafeTensorsFormatException>(() => ModelLoader.Load(baseModel, null, float32, CPU));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("mlp.gate_proj.weight", error.Message);
        Assert.Contains("config.json implies", error.Message);
        Assert.Contains("intermediate_size=99", error.Message);
    }

    [Fact]
    public void Missing_and_extra_tensors_are_named()
    {
        using var dir = new TempDirectory();
        string folder = HuggingFaceFixture.Write(dir.File("model"));
        string weights = Path.Combine(folder, "model.safetensors");
        List<(string, Tensor)> tensors;
        using (var file = SafeTensorsFile.Open(weights))
            tensors = file.Tensors.Keys.Select(k => (k, file.Read(k))).ToList();
        SafeTensorsWriter.Write(weights, tensors.Where(t => t.Item1 != "model.norm.weight").ToList());
        var missing = Assert.Throws<SafeTensorsFormatException>(() => ModelLoader.Load(HuggingFaceModelFolder.Load(folder), null, float32, CPU));
        Assert.Contains("'model.norm.weight'", missing.Message);

        SafeTensorsWriter.Write(weights, [.. tensors, ("model.layers.7.mlp.up_proj.weight", ones(2, 2))]);
        var extra = Assert.Throws<SafeTensorsFormatException>(() => ModelLoader.Load(HuggingFaceModelFolder.Load(folder), null, float32, CPU));
        Assert.Equal("model.layers.7.mlp.up_proj.weight", extra.Tensor);
        Assert.Contains("num_hidden_layers=2", extra.Message);
    }

    [Fact]
    public void Folder_problems_say_what_is_wrong()
    {
        using var dir = new TempDirectory();
        Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceModelFolder.Load(dir.File("nope")));
        string folder = HuggingFaceFixture.Write(dir.File("model"));
        File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "pytorch_model.bin"));
        Assert.Contains(".bin checkpoints are not supported", Assert.Throws<NotSupportedException>(() => HuggingFaceModelFolder.Load(folder)).Message);
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), """{"weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors"}}""");
        Assert.Contains("model-00001-of-00002.safetensors", Assert.Throws<FileNotFoundException>(() => HuggingFaceModelFolder.Load(folder)).Message);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        config["model_type"] = "gpt2";
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        Assert.Contains("model_type 'gpt2' is not supported", Assert.Throws<InvalidDataException>(() => HuggingFaceModelFolder.Load(folder)).Message);
    }

    [Fact]
    public void Llama2_and_llama3_config_fields_read()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
             "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072, "tie_word_embeddings": true,
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "torch_dtype": "bfloat16",
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
            """);
        LlamaConfig config = HuggingFaceModelFolder.ReadConfig(dir.Path);
        Assert.Equal(2, config.KeyValueHeads);
        Assert.Equal([128001, 128008, 128009], config.EosTokenIds);
        Assert.Equal("llama3", config.RopeScaling!.Kind);
        Assert.Equal(32, config.RopeScaling.Factor);
        Assert.Equal(16, config.HeadDim);
    }
}
