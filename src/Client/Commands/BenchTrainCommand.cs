using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using FlatLora.Benchmarks.Training;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora bench train`: times training steps on a random-weight model of a given shape.</summary>
internal sealed class BenchTrainCommand : FlatloraCommand
{
    private static readonly Option<string> ShapeOption = new("--shape") { Description = "tiny, 1b, 7b or 13b", DefaultValueFactory = _ => "tiny" };
    private static readonly Option<int> BatchOption = new("--batch") { Description = "Sequences per step", DefaultValueFactory = _ => 8 };
    private static readonly Option<int> SeqOption = new("--seq") { Description = "Tokens per sequence", DefaultValueFactory = _ => 64 };
    private static readonly Option<int> RankOption = new("--rank") { Description = "LoRA rank", DefaultValueFactory = _ => 16 };
    private static readonly Option<string[]> TargetsOption = new("--targets")
    { Description = "LoRA target modules", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => LoraSpec.DefaultTargets };
    private static readonly Option<string> MethodOption = new("--method") { Description = "lora or flat", DefaultValueFactory = _ => MethodSpec.Flat };
    private static readonly Option<double> RhoOption = new("--rho") { Description = "Flat-LoRA ρ", DefaultValueFactory = _ => 0.05 };
    private static readonly Option<int> StepsOption = new("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 10 };
    private static readonly Option<int> WarmupOption = new("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 2 };
    private static readonly Option<bool> CheckpointingOption = new("--checkpointing") { Description = "Recompute each decoder layer in backward" };
    private static readonly Option<string> DeviceOption = new("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "cpu" };
    private static readonly Option<string?> DtypeOption = new("--dtype") { Description = "Frozen base dtype (default: float32 on CPU, bfloat16 on CUDA)" };
    private static readonly Option<int> WorldSizeOption = new("--world-size")
    { Description = "Data-parallel ranks, as threads each with its own TCP ring endpoint on loopback; reports how much exchange backward hides", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> BucketOption = new("--bucket-kb") { Description = "Gradient bucket size with --world-size (default 25 MB)", DefaultValueFactory = _ => 25 * 1024 };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print the figures as one JSON object on stdout" };

    public BenchTrainCommand() : base("train", "Time LoRA / Flat-LoRA training steps on random weights and tokens")
    {
        ShapeOption.AcceptOnlyFromAmong(BenchShapes.Names);
        MethodOption.AcceptOnlyFromAmong(MethodSpec.Lora, MethodSpec.Flat);
        foreach (Option option in new Option[] { ShapeOption, BatchOption, SeqOption, RankOption, TargetsOption, MethodOption, RhoOption,
                     StepsOption, WarmupOption, CheckpointingOption, DeviceOption, DtypeOption, JsonOption, WorldSizeOption, BucketOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string device = parseResult.GetValue(DeviceOption)!;
        var options = new TrainBenchmarkOptions
        {
            Shape = parseResult.GetValue(ShapeOption)!,
            Batch = parseResult.GetValue(BatchOption),
            Sequence = parseResult.GetValue(SeqOption),
            Rank = parseResult.GetValue(RankOption),
            Targets = parseResult.GetValue(TargetsOption)!,
            Method = parseResult.GetValue(MethodOption)!,
            Rho = parseResult.GetValue(RhoOption),
            Steps = parseResult.GetValue(StepsOption),
            Warmup = parseResult.GetValue(WarmupOption),
            Checkpointing = parseResult.GetValue(CheckpointingOption),
            Device = device,
            Dtype = parseResult.GetValue(DtypeOption) ?? (device == "cpu" ? "float32" : "bfloat16"),
        };
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        int worldSize = parseResult.GetValue(WorldSizeOption);
        if (worldSize > 1)
            return await DataParallelAsync(parseResult, options, worldSize, console, cancellationToken).ConfigureAwait(false);
        TrainBenchmarkResult result = await Task.Factory.StartNew(() => TrainBenchmark.Run(options, message => console.WriteLine(message)),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(JsonOption))
            await output.WriteLineAsync(JsonSerializer.Serialize(result)).ConfigureAwait(false);
        else
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{result.Shape} {result.Method} on {result.Device} ({result.Dtype}): {result.MsPerStep:F1} ms/step, " +
                $"{result.TokensPerSecond:F0} tokens/s, {result.ModelTflops:F3} model TFLOP/s, frozen max |Δ| {result.FrozenMaxAbsChange}")).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async Task<int> DataParallelAsync(ParseResult parseResult, TrainBenchmarkOptions options, int worldSize, Spectre.Console.IAnsiConsole console,
        CancellationToken cancellationToken)
    {
        int bucketKb = parseResult.GetValue(BucketOption);
        if (bucketKb < 1)
            throw new ArgumentException($"--bucket-kb must be at least 1 (got {bucketKb})");
        (TrainBenchmarkResult result, ExchangeFigures exchange) = await Task.Factory.StartNew(
            () => DataParallelTrainBenchmark.Run(options, worldSize, (long)bucketKb << 10, message => console.WriteLine(message)),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(JsonOption))
            await output.WriteLineAsync(JsonSerializer.Serialize(new { result, exchange }, SnakeCase)).ConfigureAwait(false);
        else
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{result.Shape} {result.Method}, {worldSize} ranks: {result.MsPerStep:F1} ms/step; exchange {exchange.WorkMsPerStep:F1} ms/step, " +
                $"{exchange.ExposedMsPerStep:F1} ms of it after backward ({exchange.HiddenShare:P0} hidden), {exchange.BucketsPerStep:F1} buckets, " +
                $"{exchange.BucketsDuringBackwardPerStep:F1} sent during backward")).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
