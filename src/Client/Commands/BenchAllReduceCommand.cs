using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlatLora.Client.Bench;
using FlatLora.Client.Rendering;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;
using FlatLora.Spec;
using FlatLora.Benchmarks.Network;
using FlatLora.Benchmarks.Training;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora bench allreduce`: bus bandwidth of the gradient ring (TCP data plane, as the silos run it) between N local
/// worker processes, against raw loopback TCP moving the same bytes, and the gradient bytes a step sends for a
/// model shape and LoRA config next to full fine-tuning.
/// </summary>
internal sealed class BenchAllReduceCommand : FlatloraCommand
{
    private static readonly Option<int> WorkersOption = new("--workers") { Description = "Worker processes (ranks), 2 to 16", DefaultValueFactory = _ => 2 };
    private static readonly Option<int> MegabytesOption = new("--mb") { Description = "Bucket size in MB (fp32 values)", DefaultValueFactory = _ => 64 };
    private static readonly Option<int> IterationsOption = new("--iterations") { Description = "Timed all-reduces", DefaultValueFactory = _ => 10 };
    private static readonly Option<int> WarmupOption = new("--warmup") { Description = "Untimed all-reduces first", DefaultValueFactory = _ => 2 };
    private static readonly Option<string> ShapeOption = new("--shape") { Description = "Model shape for the gradient-bytes figure: tiny, 1b, 7b or 13b", DefaultValueFactory = _ => "7b" };
    private static readonly Option<int> RankOption = new("--rank") { Description = "LoRA rank for the gradient-bytes figure", DefaultValueFactory = _ => 16 };
    private static readonly Option<string[]> TargetsOption = new("--targets")
    { Description = "LoRA target modules for the gradient-bytes figure", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => LoraSpec.DefaultTargets };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the figures as one JSON object on stdout" };
    private static readonly Option<int> SliceOption = new("--slice-kb") { Description = "KB per pipelined ring slice", DefaultValueFactory = _ => RingAllReduce.DefaultSliceFloats * sizeof(float) / 1024 };
    private static readonly Option<string> SealingOption = new("--sealing")
    { Description = "Gradient frames: encrypted (AES-GCM, the default on a cluster) or authenticated (AES-GCM tag, values in clear)", DefaultValueFactory = _ => "encrypted" };
    private static readonly Option<bool> NetnsOption = new("--netns") { Description = "Each worker on its own host: a Linux network namespace with its own address, on a bridge (needs root)" };
    private static readonly Option<string> WireOption = new("--wire") { Description = "Gradient values on the ring: fp32 or bf16 (half the bytes, not bit-exact)", DefaultValueFactory = _ => "fp32" };
    private static readonly Option<string?> LinkRateOption = new("--link-rate") { Description = "With --netns: shape every host's link to this rate (tc syntax: 1gbit, 500mbit)" };

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public BenchAllReduceCommand() : base("allreduce", "Ring all-reduce bus bandwidth between local processes vs raw loopback TCP")
    {
        ShapeOption.AcceptOnlyFromAmong(BenchShapes.Names);
        WireOption.AcceptOnlyFromAmong("fp32", "bf16");
        SealingOption.AcceptOnlyFromAmong("encrypted", "authenticated");
        foreach (Option option in new Option[] { WorkersOption, MegabytesOption, IterationsOption, WarmupOption, ShapeOption, RankOption, TargetsOption, JsonOption, SealingOption, SliceOption, NetnsOption, LinkRateOption, WireOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        int workers = parseResult.GetValue(WorkersOption), megabytes = parseResult.GetValue(MegabytesOption);
        int iterations = parseResult.GetValue(IterationsOption), warmup = parseResult.GetValue(WarmupOption);
        if (workers is < 2 or > 16)
            throw new ArgumentException($"--workers must be in [2, 16] (got {workers})");
        if (megabytes is < 1 or > 2048)
            throw new ArgumentException($"--mb must be in [1, 2048] (got {megabytes})");
        int sliceKb = parseResult.GetValue(SliceOption);
        if (sliceKb is < 1 or > DataPlaneListener.MaxSliceFloats / 256)
            throw new ArgumentException($"--slice-kb must be in [1, {DataPlaneListener.MaxSliceFloats / 256}] (got {sliceKb})");
        if (iterations < 1 || warmup < 0)
            throw new ArgumentException($"--iterations must be at least 1 and --warmup at least 0 (got {iterations}, {warmup})");
        bool netns = parseResult.GetValue(NetnsOption);
        string? linkRate = parseResult.GetValue(LinkRateOption);
        double? linkBytesPerSecond = linkRate is null ? null : LinkRate.BytesPerSecond(linkRate, "--link-rate");
        if (linkRate is not null && !netns)
            throw new ArgumentException("--link-rate shapes the links between namespaces: it needs --netns");
        GradientReport gradients = GradientReport.For(parseResult.GetValue(ShapeOption)!, parseResult.GetValue(RankOption), parseResult.GetValue(TargetsOption)!, workers);

        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        console.WriteLine($"Starting {workers} worker processes for a {megabytes} MB all-reduce ({warmup} warm-up + {iterations} timed)...");
        NetworkNamespaces? hosts = null;
        IReadOnlyList<AllReduceWorkerResult> results;
        try
        {
            if (netns)
            {
                hosts = NetworkNamespaces.TryCreate(workers, out string? whyNot) ?? throw new InvalidOperationException($"--netns: {whyNot}");
                for (int host = 0; host < workers && linkRate is not null; host++)
                    hosts.Shape(host, linkRate);
            }
            results = await AllReduceWorkers.RunAsync(new AllReduceRun(workers, megabytes, iterations, warmup, sliceKb, hosts,
                parseResult.GetValue(WireOption)!, parseResult.GetValue(SealingOption)!), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            hosts?.Dispose();
        }
        AllReduceReport report = AllReduceReport.From(results, megabytes, gradients) with
        {
            Sealing = parseResult.GetValue(SealingOption)!,
            Hosts = netns ? "netns" : "loopback",
            Wire = parseResult.GetValue(WireOption)!,
            LinkRate = linkRate,
        };
        if (linkBytesPerSecond is double link)
            report = report with { LinkShare = report.BusGigabytesPerSecond * 1e9 / link, RawTcpLinkShare = report.RawTcpGigabytesPerSecond * 1e9 / link };
        if (!report.SumCorrect)
            throw new InvalidOperationException("the ring all-reduce returned wrong sums; the figures are meaningless");

        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(JsonOption))
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"ring all-reduce, {workers} processes, {megabytes} MB: {report.AllReduceMsMedian:F1} ms, bus bandwidth {report.BusGigabytesPerSecond:F2} GB/s\n" +
            $"raw loopback TCP, same bytes per rank ({report.BytesPerRank / 1e6:F1} MB): {report.RawTcpMsMedian:F1} ms, {report.RawTcpGigabytesPerSecond:F2} GB/s\n" +
            $"ratio: {report.Ratio:P0} of raw TCP (targets on 2 cores: 60 % at W=2, 64 MB; 50 % at W=4, 16 MB)\n" +
            $"gradient bytes per rank per step, {gradients.Shape}, LoRA r={gradients.LoraRank} on {string.Join(",", gradients.Targets)}, W={workers}: " +
            $"{gradients.LoraBytesPerStep / 1e6:F1} MB (full fine-tuning: {gradients.FullBytesPerStep / 1e9:F1} GB, {gradients.Reduction:F0}x more)")).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
