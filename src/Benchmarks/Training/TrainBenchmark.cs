using System.Diagnostics;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Benchmarks.Training;

/// <summary>
/// Times the production training step (<see cref="FineTuneRun.TrainStep"/>) on a random-weight model and random
/// tokens: warmup steps first, then timed steps; reports throughput, model FLOPs and the frozen weights' change.
/// </summary>
public static class TrainBenchmark
{
    public static TrainBenchmarkResult Run(TrainBenchmarkOptions o, Action<string>? progress = null)
    {
        if (o.Steps < 1 || o.Warmup < 0 || o.Batch < 1 || o.Sequence < 2)
            throw new ArgumentException("--steps, --batch must be ≥ 1, --warmup ≥ 0 and --seq ≥ 2");
        LlamaConfig config = BenchShapes.Get(o.Shape);
        int totalSteps = o.Warmup + o.Steps;
        string scratch = Path.Combine(Path.GetTempPath(), $"flatlora-bench-{Environment.ProcessId}");
        TrainSpec spec = Spec(o, totalSteps, scratch);
        var baseModel = BaseModel.Random($"bench:{o.Shape}", config, new IdOnlyTokenizer(config.VocabSize), o.Seed);
        TrainingData data = RandomTokenData.Create(o.Batch * totalSteps, o.Sequence, config.VocabSize, o.Seed);
        progress?.Invoke($"Building {o.Shape} ({config.ParameterCount / 1e6:F1}M parameters, {o.Dtype}) on {o.Device}...");
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, data, new RunOptions { VerifyFrozenWeights = false });
        var frozen = run.Model.named_parameters().Where(p => !LoraInjector.IsLoraName(p.name)).Select(p => (Tensor)p.parameter).ToList();
        List<Tensor> before = frozen.Select(t => t.detach().cpu().clone().DetachFromDisposeScope()).ToList();

        var seconds = new List<double>();
        double loss = double.NaN;
        double? peakDevice = null;
        for (int step = 0; step < totalSteps; step++)
        {
            var watch = Stopwatch.StartNew();
            StepReport report = run.TrainStep();
            Synchronize(run.Model.Device);
            watch.Stop();
            if (run.Model.Device.type == TorchSharp.DeviceType.CUDA && DeviceMemory.UsedGiB() is double used)
                peakDevice = Math.Max(peakDevice ?? 0, used);
            loss = report.Figures.Loss;
            if (step >= o.Warmup)
                seconds.Add(watch.Elapsed.TotalSeconds);
            progress?.Invoke($"step {step + 1}/{totalSteps}{(step < o.Warmup ? " (warmup)" : "")}: {watch.Elapsed.TotalMilliseconds:F1} ms, loss {report.Figures.Loss:F4}");
        }
        double maxChange = 0;
        for (int i = 0; i < frozen.Count; i++)
        {
            using var scope = NewDisposeScope();
            maxChange = Math.Max(maxChange, (frozen[i].detach().cpu().to(float32) - before[i].to(float32)).abs().max().item<float>());
            before[i].Dispose();
        }
        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was written: TrainStep alone writes no checkpoint.
        }

        double mean = seconds.Average();
        long tokensPerStep = (long)o.Batch * o.Sequence;
        long loraParameters = run.LoraParameters.Sum(p => p.numel());
        // Weights that multiply activations: every projection and the head (the embedding matrix when tied).
        long matmulParameters = run.Model.named_parameters()
            .Where(p => !LoraInjector.IsLoraName(p.name) && (p.name.EndsWith("proj.weight", StringComparison.Ordinal) || p.name == "lm_head.weight"))
            .Sum(p => p.parameter.numel())
            + (config.TieWordEmbeddings ? (long)config.VocabSize * config.HiddenSize : 0);
        double flopsPerToken = 4.0 * matmulParameters + 6.0 * loraParameters
            + 12.0 * config.NumHiddenLayers * o.Sequence * config.NumAttentionHeads * config.HeadDim;
        return new TrainBenchmarkResult
        {
            Shape = o.Shape,
            Method = o.Method,
            Rho = o.Method == MethodSpec.Flat ? o.Rho : 0,
            Device = run.Model.Device.ToString(),
            Dtype = o.Dtype,
            Batch = o.Batch,
            Sequence = o.Sequence,
            Rank = o.Rank,
            Targets = o.Targets,
            Checkpointing = o.Checkpointing,
            FlatNoise = o.Method == MethodSpec.Flat ? FlatNoise(run.Model.Device) : null,
            Steps = o.Steps,
            Warmup = o.Warmup,
            MsPerStep = mean * 1000,
            MsPerStepMin = seconds.Min() * 1000,
            TokensPerSecond = tokensPerStep / mean,
            ModelTflops = flopsPerToken * tokensPerStep / mean / 1e12,
            PeakHostMemoryGiB = PeakMemory.HostGiB(),
            PeakDeviceMemoryGiB = peakDevice,
            BaseParameters = config.ParameterCount,
            LoraParameters = loraParameters,
            FrozenMaxAbsChange = maxChange,
            FinalLoss = loss,
            Threads = get_num_threads(),
        };
    }

    /// <summary>The benchmark's run: random weights need no warm-up of the learning rate, and nothing is saved.</summary>
    internal static TrainSpec Spec(TrainBenchmarkOptions o, int totalSteps, string scratch) => new()
    {
        Model = new ModelSpec { Dtype = o.Dtype },
        Lora = new LoraSpec { Rank = o.Rank, Alpha = o.Alpha ?? 2 * o.Rank, Dropout = 0, Targets = [.. o.Targets] },
        Method = new MethodSpec { Name = o.Method, Rho = o.Rho },
        Training = new TrainingSpec { BatchSize = o.Batch, MicroBatchSize = o.Batch, MaxSteps = totalSteps, GradientCheckpointing = o.Checkpointing },
        Optimizer = new OptimizerSpec { Lr = 1e-4, WarmupSteps = 0, Schedule = "constant" },
        Device = o.Device,
        Seed = o.Seed,
        OutputDir = scratch,
    };

    private static string FlatNoise(Device device)
    {
        if (device.type != TorchSharp.DeviceType.CUDA)
            return "generated on the CPU";
        FlatLora.Trainer.Flat.Cuda.CudaNoiseKernel.For(device, out string description);
        return description;
    }

    private static void Synchronize(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA)
            cuda.synchronize(device);
    }
}
