using FlatLora.Trainer.Tokenization;
using System.Diagnostics;
using System.Text.Json;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tasks;

/// <summary>
/// The built-in base model: <see cref="TinyShiftTask.ModelConfig"/> pretrained in code on the copy/uppercase corpus.
/// Pretraining is deterministic and takes seconds; the result is cached by recipe hash under
/// <see cref="CacheDirectory"/> so later runs start at once.
/// </summary>
public static class TinyBaseModel
{
    private const int Steps = 1000;
    private const int BatchSize = 32;
    private const double PeakLr = 3e-3;
    private const long InitSeed = 1234;

    public const string Name = "builtin:tiny";

    // Shards of one silo start together: one of them pretrains, the others wait for its file.
    private static readonly Lock PretrainGate = new();

    /// <summary>The cached weights file, pretraining first if it is missing.</summary>
    public static string EnsurePretrained(ITrainingObserver observer)
    {
        string recipe = JsonSerializer.Serialize(new { TinyShiftTask.ModelConfig, Steps, BatchSize, PeakLr, InitSeed, Version = 1 });
        string key = Seeding.Derive(0, "tiny-base", recipe).ToString("x16");
        string path = System.IO.Path.Combine(CacheDirectory.Path, $"tiny-base-{key}.safetensors");
        lock (PretrainGate)
        {
            if (File.Exists(path))
                return path;
            Pretrain(path, recipe, observer);
            return path;
        }
    }

    private static void Pretrain(string path, string recipe, ITrainingObserver observer)
    {
        observer.OnInfo($"Pretraining the built-in tiny base model ({Steps} steps, once; cached at {path})...");
        var watch = Stopwatch.StartNew();
        using var model = new LlamaForCausalLM(TinyShiftTask.ModelConfig, float32, CPU);
        model.InitializeWeights(InitSeed);
        double finalLoss = Pretrain(model, observer);
        var tensors = model.state_dict().Select(p => (p.Key, p.Value)).ToList();
        // Written aside and moved into place, so another process never reads a half-written cache file.
        string partial = $"{path}.{Environment.ProcessId}.partial";
        SafeTensorsWriter.Write(partial, tensors, new Dictionary<string, string> { ["format"] = "pt", ["recipe"] = recipe });
        File.Move(partial, path, overwrite: true);
        observer.OnInfo($"Pretrained the tiny base model in {watch.Elapsed.TotalSeconds:F1} s (final loss {finalLoss:F3}).");
    }

    private static double Pretrain(LlamaForCausalLM model, ITrainingObserver observer)
    {
        var tokenizer = new ByteTokenizer();
        var corpus = TinyShiftTask.PretrainingCorpus(4096).Select(e => ExampleEncoder.Encode(e, tokenizer, 64)).ToList();
        var order = new DataOrder(corpus.Count, BatchSize, InitSeed);
        var schedule = new Spec.OptimizerSpec { Lr = PeakLr, WarmupSteps = 20, Schedule = "cosine", MinLrRatio = 0.1 };
        IList<Parameter> parameters = model.parameters().ToList();
        using var optimizer = optim.AdamW(parameters, lr: PeakLr, weight_decay: 0.0);
        model.train();
        double loss = double.NaN;
        for (long step = 0; step < Steps; step++)
        {
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = LearningRateSchedule.At(schedule, step, Steps);
            using var scope = NewDisposeScope();
            var batch = order.GlobalBatchAt(step).Select(i => corpus[i]).ToList();
            (Tensor ids, Tensor targets) = BatchCollator.Collate(batch, tokenizer.PadId, CPU);
            Tensor sum = CausalLmLoss.Sum(model.forward(ids), targets);
            long count = batch.Sum(e => e.TargetCount);
            (sum / count).backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            optimizer.zero_grad();
            loss = sum.item<float>() / count;
            if ((step + 1) % 100 == 0)
                observer.OnInfo($"  pretraining step {step + 1}/{Steps}: loss {loss:F3}");
        }
        return loss;
    }
}
