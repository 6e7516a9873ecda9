using System.Diagnostics;
using System.Net;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Distributed;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;

namespace FlatLora.Benchmarks.Training;

/// <summary>What `bench train --world-size W` measured of the gradient exchange, per timed step of rank 0.</summary>
/// <param name="HiddenShare">1 − exposed / work: the share of exchange time backward hid.</param>
public sealed record ExchangeFigures(int WorldSize, double WorkMsPerStep, double ExposedMsPerStep, double HiddenShare,
    double BucketsPerStep, double BucketsDuringBackwardPerStep, long BytesPerStep);

/// <summary>
/// `bench train --world-size W`: W ranks of the production training step as threads of this process, each with its
/// own inbox, data-plane listener and TCP ring on loopback (as if on its own host), the global batch split across
/// them. Besides the step time it reports how much of the gradient exchange backward hid: buckets go out from the last
/// layer as backward passes it (<see cref="OverlappedStep"/>).
/// </summary>
public static class DataParallelTrainBenchmark
{
    public static (TrainBenchmarkResult Result, ExchangeFigures Exchange) Run(TrainBenchmarkOptions o, int worldSize, long bucketBytes,
        Action<string>? progress = null)
    {
        if (worldSize < 2 || o.Batch % worldSize != 0)
            throw new ArgumentException($"--world-size must be at least 2 and divide --batch ({o.Batch}); got {worldSize}");
        int totalSteps = o.Warmup + o.Steps;
        string scratch = Path.Combine(Path.GetTempPath(), $"flatlora-bench-dp-{Environment.ProcessId}");
        TrainSpec single = TrainBenchmark.Spec(o, totalSteps, scratch);
        TrainSpec spec = single with { Training = single.Training with { MicroBatchSize = o.Batch / worldSize } };
        LlamaConfig config = BenchShapes.Get(o.Shape);
        var baseModel = BaseModel.Random($"bench:{o.Shape}", config, new FlatLora.Trainer.Tokenization.IdOnlyTokenizer(config.VocabSize), o.Seed);
        TrainingData data = RandomTokenData.Create(o.Batch * totalSteps, o.Sequence, config.VocabSize, o.Seed);
        progress?.Invoke($"Building {worldSize} ranks of {o.Shape} ({config.ParameterCount / 1e6:F1}M parameters) on loopback TCP...");

        var inboxes = Enumerable.Range(0, worldSize).Select(_ => new GradientInbox()).ToArray();
        var listeners = inboxes.Select(i => DataPlaneListener.Start(i, new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        byte[] secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var seconds = new List<double>[worldSize];
        var work = new List<double>();
        var exposed = new List<double>();
        var buckets = new List<(int All, int During, long Bytes)>();
        double loss = double.NaN;
        try
        {
            var ranks = Enumerable.Range(0, worldSize).Select(rank => Task.Factory.StartNew(() =>
            {
                seconds[rank] = [];
                var edge = new RingEdge("bench/train", 1, rank, (rank + 1) % worldSize, secret);
                using var exchange = new RingGradientExchange(inboxes[rank], edge, worldSize,
                    new TcpRingTransport(listeners[edge.ToRank].LocalEndpoint, edge, TimeSpan.FromMinutes(2)), TimeSpan.FromMinutes(2), bucketBytes);
                using var run = new FineTuneRun(ValidTrainSpec.From(spec with { OutputDir = Path.Combine(scratch, $"rank{rank}") }), baseModel, data,
                    new RunOptions { Exchange = exchange, VerifyFrozenWeights = false });
                for (int step = 0; step < totalSteps; step++)
                {
                    var watch = Stopwatch.StartNew();
                    StepReport report = run.TrainStep();
                    watch.Stop();
                    if (step < o.Warmup)
                        continue;
                    seconds[rank].Add(watch.Elapsed.TotalSeconds);
                    if (rank != 0)
                        continue;
                    loss = report.Figures.Loss;
                    work.Add(exchange.LastExchangeWork.TotalMilliseconds);
                    exposed.Add(exchange.LastDuration.TotalMilliseconds);
                    buckets.Add((exchange.LastBuckets, exchange.LastBucketsDuringBackward, exchange.LastBytesSent));
                    progress?.Invoke($"step {step + 1}/{totalSteps}: {watch.Elapsed.TotalMilliseconds:F1} ms, exchange {work[^1]:F1} ms, " +
                        $"{exposed[^1]:F1} ms of it after backward");
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            Task.WaitAll(ranks);
        }
        finally
        {
            foreach (DataPlaneListener listener in listeners)
                listener.Dispose();
            if (Directory.Exists(scratch))
                Directory.Delete(scratch, recursive: true);
        }
        double mean = Enumerable.Range(0, o.Steps).Average(i => seconds.Max(s => s[i]));
        var result = new TrainBenchmarkResult
        {
            Shape = o.Shape,
            Method = o.Method,
            Rho = o.Method == MethodSpec.Flat ? o.Rho : 0,
            Device = o.Device,
            Dtype = o.Dtype,
            Batch = o.Batch,
            Sequence = o.Sequence,
            Rank = o.Rank,
            Targets = o.Targets,
            Steps = o.Steps,
            Warmup = o.Warmup,
            MsPerStep = mean * 1000,
            MsPerStepMin = seconds[0].Min() * 1000,
            TokensPerSecond = (double)o.Batch * o.Sequence / mean,
            PeakHostMemoryGiB = PeakMemory.HostGiB(),
            BaseParameters = config.ParameterCount,
            FinalLoss = loss,
            Threads = TorchSharp.torch.get_num_threads(),
        };
        double workMs = work.Average(), exposedMs = exposed.Average();
        var figures = new ExchangeFigures(worldSize, workMs, exposedMs, workMs <= 0 ? 0 : Math.Clamp(1 - exposedMs / workMs, 0, 1),
            buckets.Average(b => b.All), buckets.Average(b => b.During), buckets[^1].Bytes);
        return (result, figures);
    }
}
