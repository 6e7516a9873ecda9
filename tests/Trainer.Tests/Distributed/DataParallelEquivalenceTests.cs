using System.Net;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;
using FlatLora.Spec;
using FlatLora.Trainer.Distributed;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Distributed;

/// <summary>W ranks × micro-batch b must train like 1 rank × micro-batch W·b: same global batch, same math.</summary>
public class DataParallelEquivalenceTests
{
    private static TrainSpec Spec(string dir, string method, int microBatch) =>
        TestModels.Spec(dir, method: method, rho: 0.3, steps: 6, batch: 12, microBatch: microBatch);

    /// <summary>
    /// Runs W ranks as threads of this process, exchanging through the real ring: over the in-process transport, or
    /// (<paramref name="overTcp"/>) with an inbox and data-plane listener per rank, as if each were its own host.
    /// </summary>
    internal static List<Tensor> TrainDataParallel(TrainSpec spec, BaseModel baseModel, int worldSize, int steps, string runKey = "exp/1",
        bool overTcp = false, long bucketBytes = RingGradientExchange.DefaultBucketBytes, WireFormat wire = WireFormat.Fp32,
        int[]? bucketsDuringBackward = null)
    {
        var inboxes = Enumerable.Range(0, overTcp ? worldSize : 1).Select(_ => new GradientInbox()).ToArray();
        var listeners = overTcp ? inboxes.Select(i => DataPlaneListener.Start(i, new IPEndPoint(IPAddress.Loopback, 0))).ToArray() : [];
        byte[] secret = [1, 2, 3, 4];
        var results = new List<Tensor>[worldSize];
        var ranks = Enumerable.Range(0, worldSize).Select(rank => Task.Factory.StartNew(() =>
        {
            var edge = new RingEdge(runKey, 1, rank, (rank + 1) % worldSize, secret);
            IRingTransport next = overTcp
                ? new TcpRingTransport(listeners[edge.ToRank].LocalEndpoint, edge, TimeSpan.FromSeconds(30), wire: wire)
                : new InProcessRingTransport(inboxes[0], runKey, 1, rank, edge.ToRank, TimeSpan.FromSeconds(30));
            var exchange = new RingGradientExchange(inboxes[overTcp ? rank : 0], edge, worldSize, next, TimeSpan.FromSeconds(60), bucketBytes, wire);
            try
            {
                using var run = new FineTuneRun(ValidTrainSpec.From(spec with { OutputDir = Path.Combine(spec.OutputDir, $"rank{rank}") }), baseModel, TestModels.Data(),
                    new RunOptions { Exchange = exchange, VerifyFrozenWeights = false });
                for (int i = 0; i < steps; i++)
                {
                    run.TrainStep();
                    if (bucketsDuringBackward is not null)
                        Interlocked.Add(ref bucketsDuringBackward[rank], exchange.LastBucketsDuringBackward);
                }
                results[rank] = TestModels.Snapshot(run.LoraParameters);
            }
            finally
            {
                exchange.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        bool finished = Task.WaitAll(ranks, TimeSpan.FromMinutes(3));
        foreach (DataPlaneListener listener in listeners)
            listener.Dispose();
        Assert.True(finished, "the ranks did not finish within 3 minutes");
        // Every rank ends with the same weights, bit for bit.
        for (int rank = 1; rank < worldSize; rank++)
            Assert.All(results[0].Zip(results[rank]), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second), $"rank {rank} drifted from rank 0"));
        return results[0];
    }

    private static List<Tensor> TrainSingle(TrainSpec spec, BaseModel baseModel, int steps)
    {
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data());
        for (int i = 0; i < steps; i++)
            run.TrainStep();
        return TestModels.Snapshot(run.LoraParameters);
    }

    internal static double MaxRelativeDifference(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) =>
        a.Zip(b).Max(p => ((p.First - p.Second).abs().max() / p.First.abs().max().clamp_min(1e-12)).item<float>());

    [Theory]
    [InlineData("lora", 2)]
    [InlineData("flat", 2)]
    [InlineData("lora", 3)]
    [InlineData("flat", 3)]
    public void World_size_w_with_micro_batch_b_equals_one_rank_with_micro_batch_w_times_b(string method, int worldSize)
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        List<Tensor> single = TrainSingle(Spec(dir.File("single"), method, microBatch: 12 / worldSize * worldSize), baseModel, 6);
        List<Tensor> parallel = TrainDataParallel(Spec(dir.File("parallel"), method, microBatch: 12 / worldSize), baseModel, worldSize, 6);
        double difference = MaxRelativeDifference(single, parallel);
        Assert.True(difference <= 1e-5, $"max relative difference {difference:E2}");
        // And training moved the weights (B starts at zero), so the comparison is not of two untouched models.
        Assert.Contains(parallel, p => p.shape[1] == 4 && p.abs().max().item<float>() > 1e-4);
    }

    [Theory]
    [InlineData("flat", 3)]
    [InlineData("lora", 2)]
    public void Over_tcp_in_small_buckets_the_ring_still_equals_one_rank(string method, int worldSize)
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        List<Tensor> single = TrainSingle(Spec(dir.File("single"), method, microBatch: 12 / worldSize * worldSize), baseModel, 6);
        // 4 KB buckets: the tiny model's LoRA gradients span several, so packing, per-bucket rings and unpacking all run,
        // and the later layers' buckets go out while backward is still in the earlier layers.
        int[] during = new int[worldSize];
        List<Tensor> parallel = TrainDataParallel(Spec(dir.File("parallel"), method, microBatch: 12 / worldSize), baseModel, worldSize, 6,
            runKey: "exp/tcp", overTcp: true, bucketBytes: 4096, bucketsDuringBackward: during);
        double difference = MaxRelativeDifference(single, parallel);
        Assert.True(difference <= 1e-5, $"max relative difference {difference:E2}");
        Assert.All(during, d => Assert.True(d > 0, "no bucket went out during backward"));
    }

    [Fact]
    public void Overlapped_with_backward_under_s2r2_two_forwards_per_micro_batch_the_math_holds()
    {
        // Two forwards per micro-batch put two probes on each layer: a layer is final only once backward passed both.
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path, std: 0.2);
        var robustness = new RobustnessSpec { Weight = 0.5, NormWeight = 0.01, Perturb = ["typo:heavy", "casing:heavy"] };
        TrainSpec Robust(string name, int microBatch) => Spec(dir.File(name), "flat", microBatch) with { Robustness = robustness };
        List<Tensor> single = TrainSingle(Robust("single", 6), baseModel, 6);
        int[] during = new int[2];
        List<Tensor> parallel = TrainDataParallel(Robust("parallel", 6), baseModel, 2, 6, runKey: "exp/s2r2-tcp", overTcp: true,
            bucketBytes: 4096, bucketsDuringBackward: during);
        double difference = MaxRelativeDifference(single, parallel);
        Assert.True(difference <= 1e-5, $"max relative difference {difference:E2}");
        Assert.All(during, d => Assert.True(d > 0, "no bucket went out during backward"));
    }

    [Fact]
    public void With_bf16_on_the_wire_ranks_agree_bit_for_bit_and_stay_close_to_one_rank_without_equalling_it()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        List<Tensor> single = TrainSingle(Spec(dir.File("single"), "flat", microBatch: 12), baseModel, 6);
        // TrainDataParallel asserts that both ranks end bit-identical.
        List<Tensor> parallel = TrainDataParallel(Spec(dir.File("parallel"), "flat", microBatch: 6), baseModel, 2, 6,
            runKey: "exp/bf16", overTcp: true, wire: WireFormat.Bf16);
        double difference = MaxRelativeDifference(single, parallel);
        Assert.True(difference is > 1e-6 and < 0.05, $"max relative difference {difference:E2}: bf16 gradients should move the result a little, not a lot");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void With_s2r2_the_split_does_not_change_the_math_either(int worldSize)
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path, std: 0.2);
        var robustness = new RobustnessSpec { Weight = 0.5, NormWeight = 0.01, Perturb = ["typo:heavy", "casing:heavy"] };
        TrainSpec Robust(string name, int microBatch) => Spec(dir.File(name), "flat", microBatch) with { Robustness = robustness };
        // One rank with the same micro-batch runs the same micro-batches (rank shares are contiguous blocks).
        List<Tensor> single = TrainSingle(Robust("single", 12 / worldSize), baseModel, 6);
        List<Tensor> parallel = TrainDataParallel(Robust("parallel", 12 / worldSize), baseModel, worldSize, 6);
        double difference = MaxRelativeDifference(single, parallel);
        Assert.True(difference <= 1e-5, $"max relative difference {difference:E2}");
    }

    [Fact]
    public async Task Ranks_that_disagree_on_the_perturbation_stop_with_both_named()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        var inbox = new GradientInbox();
        byte[] secret = [9];
        var errors = new Exception?[2];
        var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            var exchange = new RingGradientExchange(inbox, new RingEdge("exp/2", 1, rank, 1 - rank, secret), 2,
                new InProcessRingTransport(inbox, "exp/2", 1, rank, 1 - rank, TimeSpan.FromSeconds(30)), TimeSpan.FromSeconds(10));
            // Rank 1 runs another seed: its LoRA init and noise differ.
            TrainSpec spec = Spec(dir.File($"r{rank}"), "flat", 6) with { Seed = rank == 0 ? 1 : 2 };
            try
            {
                using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data(), new RunOptions { Exchange = exchange, VerifyFrozenWeights = false });
                for (int i = 0; i < 3; i++)
                    run.TrainStep();
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
            finally
            {
                exchange.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromMinutes(2));
        var mismatch = errors.OfType<FingerprintMismatchException>().FirstOrDefault();
        Assert.NotNull(mismatch);
        Assert.Contains("rank 0", mismatch.Message);
        Assert.Contains("rank 1", mismatch.Message);
    }

    [Fact]
    public void A_silent_peer_times_out_naming_its_rank()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        var inbox = new GradientInbox();
        using RingMailbox silent = inbox.Register("exp/3", 1, 1, 2, [7]);   // rank 1 exists but never sends
        using var exchange = new RingGradientExchange(inbox, new RingEdge("exp/3", 1, 0, 1, [7]), 2,
            new InProcessRingTransport(inbox, "exp/3", 1, 0, 1, TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(1));
        using var run = new FineTuneRun(ValidTrainSpec.From(Spec(dir.File("r0"), "lora", 6)), baseModel, TestModels.Data(), new RunOptions { Exchange = exchange });
        var error = Assert.Throws<CollectiveTimeoutException>(() => run.TrainStep());
        Assert.Contains("no gradients from rank 1", error.Message);
    }
}
