using System.Text;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Generation;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Model;

/// <summary>Files that are wrong in ways users' files are: each gives an error that names the file and what is wrong.</summary>
public class BadFilesTests
{
    [Fact]
    public void Weights_that_are_NaN_are_refused_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        LlamaConfig config = TestModels.Config();
        using var model = new LlamaForCausalLM(config, float32, CPU);
        model.InitializeWeights(1);
        string path = dir.File("nan.safetensors");
        var tensors = model.state_dict().Select(p => (p.Key, p.Key == "model.norm.weight" ? full(p.Value.shape, double.NaN) : p.Value)).ToList();
        SafeTensorsWriter.Write(path, tensors);

        using var target = new LlamaForCausalLM(config, float32, CPU);
        var error = Assert.Throws<SafeTensorsFormatException>(() => WeightLoader.LoadBaseWeights(target, [path]));
        Assert.Contains("model.norm.weight", error.Message);
        Assert.Contains("NaN", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0", "invalid JSON")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "model.vocab is empty")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "model.vocab['a'] is not a token id")]
    public void A_broken_tokenizer_json_is_named(string json, string problem)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), json);
        var error = Assert.Throws<TokenizerFormatException>(() => HuggingFaceTokenizerLoader.Load(dir.Path));
        Assert.Contains(dir.File("tokenizer.json"), error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_checkpoint_that_fails_half_way_leaves_no_temporary_folder_and_the_previous_one_stays()
    {
        using var dir = new TempDirectory();
        var store = new CheckpointStore(dir.File("checkpoints"), keep: 3);
        string first = store.Save(1, folder => File.WriteAllText(Path.Combine(folder, CheckpointStore.StateFile), "{}"));
        Assert.Throws<IOException>(() => store.Save(2, folder =>
        {
            File.WriteAllText(Path.Combine(folder, "adapter_model.safetensors"), new string('x', 1000));
            throw new IOException("No space left on device");
        }));
        Assert.Equal([first], Directory.GetDirectories(dir.File("checkpoints")));
        Assert.Equal(first, store.Latest());
    }

    [Fact]
    public void A_dataset_whose_responses_are_all_empty_is_refused()
    {
        var examples = Enumerable.Range(1, 4).Select(i => TrainingExample.PromptResponse($"q{i} => ", "", $"data.jsonl:{i}")).ToList();
        var error = Assert.Throws<DataFormatException>(() => TrainingData.Encode(examples, null, 0, new ByteTokenizer(), 32, 1));
        Assert.Contains("data.jsonl:1", error.Message);
        Assert.Contains("empty response", error.Message);
    }

    [Fact]
    public void A_prompt_longer_than_the_models_context_is_refused_naming_the_limit()
    {
        using var model = new LlamaForCausalLM(TestModels.Config() with { MaxPositionEmbeddings = 32 }, float32, CPU);
        var generator = new TextGenerator(model, new ByteTokenizer());
        var error = Assert.Throws<ArgumentException>(() => generator.Generate(["short", new string('x', 40)], new GenerationOptions { MaxNewTokens = 4 }));
        Assert.Contains("--prompt 2", error.Message);
        Assert.Contains("max_position_embeddings", error.Message);
        var tooMany = Assert.Throws<ArgumentException>(() => generator.Generate(["short"], new GenerationOptions { MaxNewTokens = 40 }));
        Assert.Contains("--max-new-tokens", tooMany.Message);
    }

    [Fact]
    public void Reading_and_tokenizing_a_large_dataset_stops_within_a_second_of_a_cancel()
    {
        using var dir = new TempDirectory();
        var lines = new StringBuilder();
        for (int i = 0; i < 400_000; i++)
            lines.Append("{\"prompt\": \"question ").Append(i).Append(" => \", \"completion\": \"answer number ").Append(i).Append("\"}\n");
        File.WriteAllText(dir.File("big.jsonl"), lines.ToString());
        var spec = new Spec.DataSpec { Train = dir.File("big.jsonl"), MaxSeqLen = 64 };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => DatasetCatalog.Load(spec, new ByteTokenizer(), 1, cancel.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.3), $"stopped after {watch.Elapsed.TotalSeconds:F2} s");
    }
}
