using System.Text.Json;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests;

/// <summary>Small random models and data for tests that need no pretrained weights.</summary>
internal static class TestModels
{
    public static LlamaConfig Config(int layers = 2, int hidden = 32, int heads = 4, int kvHeads = 2, bool tie = false) => new()
    {
        VocabSize = 264,
        HiddenSize = hidden,
        IntermediateSize = hidden * 2 + 8,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        MaxPositionEmbeddings = 128,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tie,
        BosTokenId = ByteTokenizer.Bos,
        EosTokenIdRaw = JsonSerializer.SerializeToElement(ByteTokenizer.Eos),
    };

    /// <summary>A random base model written to a safetensors file in <paramref name="directory"/>.</summary>
    public static BaseModel RandomBase(string directory, LlamaConfig? config = null, long seed = 7, ScalarType dtype = ScalarType.Float32, double std = 0.02)
    {
        config ??= Config();
        using var model = new LlamaForCausalLM(config, dtype, CPU);
        model.InitializeWeights(seed, std);
        string path = Path.Combine(directory, $"base-{seed}-{dtype}-{std}.safetensors");
        SafeTensorsWriter.Write(path, model.state_dict().Select(p => (p.Key, p.Value)).ToList());
        return new BaseModel("test:random", config, new ByteTokenizer(), [path]);
    }

    /// <summary>Prompt/response pairs over short random words ("rev: abc => cba").</summary>
    public static TrainingData Data(int train = 48, int eval = 8)
    {
        var random = new Trainer.Determinism.SplitMix64(99);
        string Word()
        {
            var letters = new char[3 + random.NextInt(4)];
            for (int i = 0; i < letters.Length; i++)
                letters[i] = (char)('a' + random.NextInt(8));
            return new string(letters);
        }
        var examples = Enumerable.Range(0, train + eval).Select(i =>
        {
            string w = Word();
            return TrainingExample.PromptResponse($"rev: {w} => ", new string(w.Reverse().ToArray()), $"test:{i}");
        }).ToList();
        return TrainingData.Encode(examples.Take(train).ToList(), examples.Skip(train).ToList(), 0, new ByteTokenizer(), 32, 1);
    }

    public static TrainSpec Spec(string outputDir, string method = "flat", double rho = 0.05, int steps = 10,
        int batch = 8, int microBatch = 4, double dropout = 0, string dtype = "float32", long seed = 42) => new()
    {
        Method = new MethodSpec { Name = method, Rho = rho },
        Lora = new LoraSpec { Rank = 4, Alpha = 8, Dropout = dropout },
        Model = new ModelSpec { Dtype = dtype },
        Optimizer = new OptimizerSpec { Lr = 5e-3, WarmupSteps = 2 },
        Training = new TrainingSpec { BatchSize = batch, MicroBatchSize = microBatch, MaxSteps = steps, LogEvery = 1 },
        Checkpoint = new CheckpointSpec { Interval = 0, Keep = 3 },
        Seed = seed,
        OutputDir = outputDir,
    };

    /// <summary>Copies of every tensor in a list (to compare before/after).</summary>
    public static List<Tensor> Snapshot(IEnumerable<Tensor> tensors) =>
        tensors.Select(t => t.detach().clone().DetachFromDisposeScope()).ToList();

    public static bool BitEqual(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

/// <summary>A temporary folder removed when the test ends.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flatlora-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}
