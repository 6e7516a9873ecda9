using System.Text.Json.Nodes;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Model;

/// <summary>Model folders as users have them: symlinked into a cache, configs with every field transformers writes.</summary>
public class UsersFilesTests
{
    [Fact]
    public void A_folder_of_symlinks_into_blobs_loads_like_the_files_themselves()
    {
        using var dir = new TempDirectory();
        string real = HuggingFaceFixture.Write(dir.File("real"));
        string blobs = Directory.CreateDirectory(dir.File("blobs")).FullName;
        string snapshot = Directory.CreateDirectory(dir.File("snapshots/abc123")).FullName;
        foreach (string file in Directory.GetFiles(real))
        {
            string blob = Path.Combine(blobs, Guid.NewGuid().ToString("N"));
            File.Move(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.GetRelativePath(snapshot, blob));
        }

        using SafeTensorsFile weights = SafeTensorsFile.Open(Path.Combine(snapshot, "model.safetensors"));
        Assert.Contains("model.embed_tokens.weight", weights.Tensors.Keys);
        BaseModel model = HuggingFaceModelFolder.Load(snapshot);
        using var loaded = ModelLoader.Load(model, null, float32, CPU);
        Assert.Equal(32000, loaded.Config.VocabSize);
    }

    [Fact]
    public void A_hub_id_loads_offline_from_a_cache_of_symlinks()
    {
        using var dir = new TempDirectory();
        string real = HuggingFaceFixture.Write(dir.File("real"));
        string repo = Directory.CreateDirectory(dir.File("hub/models--test-org--tiny-llama")).FullName;
        string blobs = Directory.CreateDirectory(Path.Combine(repo, "blobs")).FullName;
        const string commit = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";   // the cache names snapshots by full commit hash
        string snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit)).FullName;
        foreach (string file in Directory.GetFiles(real))
        {
            string blob = Path.Combine(blobs, Guid.NewGuid().ToString("N"));
            File.Move(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.GetRelativePath(snapshot, blob));
        }
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
        string? before = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", dir.File("hub"));
        try
        {
            BaseModel model = BaseModelCatalog.Resolve("test-org/tiny-llama", Trainer.Training.SilentObserver.Instance);
            Assert.Equal(snapshot, model.Name);
            using var loaded = ModelLoader.Load(model, null, float32, CPU);
            Assert.Equal(32000, loaded.Config.VocabSize);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", before);
        }
    }

    [Fact]
    public void A_merged_config_is_the_base_config_with_only_the_dtype_changed()
    {
        using var dir = new TempDirectory();
        string baseFolder = HuggingFaceFixture.Write(dir.File("base"));
        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(baseFolder, "config.json")))!.AsObject();
        config["rope_scaling"] = JsonNode.Parse("""{"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}""");
        config["initializer_range"] = JsonNode.Parse("0.02");
        config["attention_dropout"] = JsonNode.Parse("0.0");
        config["pretraining_tp"] = 1;
        config["use_cache"] = true;
        config["transformers_version"] = "4.44.0";
        config["torch_dtype"] = "float32";
        string baseText = config.ToJsonString();
        File.WriteAllText(Path.Combine(baseFolder, "config.json"), baseText);

        BaseModel baseModel = HuggingFaceModelFolder.Load(baseFolder);
        using var model = LoraInjector.Build(baseModel.Config, new LoraOptions(2, 4, 0, ["q_proj"]), bfloat16, CPU, 1);
        WeightLoader.LoadBaseWeights(model, baseModel.WeightFiles);
        MergedExport.Write(model, dir.File("merged"), baseFolder);

        string mergedText = File.ReadAllText(dir.File("merged/config.json"));
        JsonObject merged = JsonNode.Parse(mergedText)!.AsObject();
        Assert.Equal("bfloat16", (string?)merged["torch_dtype"]);
        merged["torch_dtype"] = "float32";
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(baseText), merged), mergedText);
        // The numbers keep their JSON type: transformers warns when a rope factor is written as an integer.
        Assert.Contains("\"factor\": 8.0", mergedText);
        Assert.Contains("\"initializer_range\": 0.02", mergedText);
    }
}
