namespace FlatLora.Benchmarks.Training;

/// <summary>
/// `flatlora bench allreduce` figures. Bus bandwidth follows NCCL's definition: bytes each rank sends, 2(W−1)/W of
/// the buffer, over the time of one all-reduce; an iteration takes as long as its slowest rank, and the median
/// iteration is reported. The raw TCP figure moves the same bytes per rank round a ring of plain sockets.
/// </summary>
public sealed record AllReduceReport
{
    public required int Workers { get; init; }

    /// <summary>How the ring's frames were sealed (--sealing): encrypted or authenticated; the raw TCP baseline is neither.</summary>
    public string Sealing { get; init; } = "encrypted";

    /// <summary>fp32 or bf16 on the ring; bus bandwidth counts fp32 bytes either way, so bf16 can beat raw TCP.</summary>
    public string Wire { get; init; } = "fp32";

    /// <summary>"loopback" (every worker on this host's loopback) or "netns" (each on its own namespace host, over a bridge).</summary>
    public string Hosts { get; init; } = "loopback";

    /// <summary>The tc rate every host's link was shaped to (--link-rate), or null.</summary>
    public string? LinkRate { get; init; }

    /// <summary>Ring bus bandwidth over the shaped link rate, and the raw TCP baseline's; null without --link-rate.</summary>
    public double? LinkShare { get; init; }
    public double? RawTcpLinkShare { get; init; }
    public required int Megabytes { get; init; }
    public required int Iterations { get; init; }
    public required long BytesPerRank { get; init; }
    public required double AllReduceMsMedian { get; init; }
    public required double BusGigabytesPerSecond { get; init; }
    public required double RawTcpMsMedian { get; init; }
    public required double RawTcpGigabytesPerSecond { get; init; }

    /// <summary>Ring bus bandwidth / raw TCP bandwidth; targets on 2 cores: 0.6 at W=2, 64 MB and 0.5 at W=4, 16 MB.</summary>
    public required double Ratio { get; init; }

    public required bool SumCorrect { get; init; }
    public required GradientReport Gradients { get; init; }

    public static AllReduceReport From(IReadOnlyList<AllReduceWorkerResult> ranks, int megabytes, GradientReport gradients)
    {
        if (ranks.Count == 0)
            throw new ArgumentException("no worker results", nameof(ranks));
        int iterations = ranks.Min(r => Math.Min(r.RingSeconds.Length, r.TcpSeconds.Length));
        if (iterations == 0)
            throw new ArgumentException("the workers timed no iterations", nameof(ranks));
        double ring = SlowestRankMedian(ranks.Select(r => r.RingSeconds).ToList(), iterations);
        double tcp = SlowestRankMedian(ranks.Select(r => r.TcpSeconds).ToList(), iterations);
        long bytes = ranks[0].BytesPerRank;
        return new AllReduceReport
        {
            Workers = ranks.Count,
            Megabytes = megabytes,
            Iterations = iterations,
            BytesPerRank = bytes,
            AllReduceMsMedian = ring * 1e3,
            BusGigabytesPerSecond = bytes / ring / 1e9,
            RawTcpMsMedian = tcp * 1e3,
            RawTcpGigabytesPerSecond = bytes / tcp / 1e9,
            Ratio = tcp / ring,
            SumCorrect = ranks.All(r => r.SumCorrect),
            Gradients = gradients,
        };
    }

    private static double SlowestRankMedian(IReadOnlyList<double[]> perRank, int iterations)
    {
        double[] slowest = Enumerable.Range(0, iterations).Select(i => perRank.Max(r => r[i])).Order().ToArray();
        return iterations % 2 == 1 ? slowest[iterations / 2] : (slowest[iterations / 2 - 1] + slowest[iterations / 2]) / 2;
    }
}

/// <summary>Gradient bytes one rank sends per optimizer step: LoRA only, next to full fine-tuning, both in fp32.</summary>
public sealed record GradientReport(string Shape, int LoraRank, IReadOnlyList<string> Targets, int WorldSize,
    long LoraParameters, long LoraBytesPerStep, long FullParameters, long FullBytesPerStep)
{
    public double Reduction => LoraBytesPerStep == 0 ? 0 : (double)FullBytesPerStep / LoraBytesPerStep;

    public static GradientReport For(string shape, int rank, IReadOnlyList<string> targets, int worldSize)
    {
        GradientVolume volume = GradientVolume.For(BenchShapes.Get(shape), rank, targets);
        return new GradientReport(shape, rank, targets, worldSize, volume.LoraParameters, GradientVolume.BytesPerRank(volume.LoraParameters, worldSize),
            volume.FullParameters, GradientVolume.BytesPerRank(volume.FullParameters, worldSize));
    }
}
