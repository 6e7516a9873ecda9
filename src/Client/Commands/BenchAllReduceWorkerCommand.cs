using System.CommandLine;
using FlatLora.Benchmarks.Training;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora bench allreduce-worker` (hidden): one rank of `bench allreduce`, driven over stdin/stdout.</summary>
internal sealed class BenchAllReduceWorkerCommand : FlatloraCommand
{
    internal static readonly Option<int> RankOption = new("--rank") { Required = true };
    internal static readonly Option<int> WorkersOption = new("--workers") { Required = true };
    internal static readonly Option<int> MegabytesOption = new("--mb") { Required = true };
    internal static readonly Option<int> IterationsOption = new("--iterations") { Required = true };
    internal static readonly Option<int> WarmupOption = new("--warmup") { Required = true };
    internal static readonly Option<int> SliceOption = new("--slice-kb") { Required = true };
    internal static readonly Option<string> ListenOption = new("--listen") { Required = true };
    internal static readonly Option<string> WireOption = new("--wire") { Required = true };
    internal static readonly Option<string> SealingOption = new("--sealing") { Required = true };

    public BenchAllReduceWorkerCommand() : base("allreduce-worker", "One worker process of `bench allreduce` (started by it)")
    {
        Hidden = true;
        foreach (Option option in new Option[] { RankOption, WorkersOption, MegabytesOption, IterationsOption, WarmupOption, SealingOption, SliceOption, ListenOption, WireOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var options = new AllReduceWorkerOptions(parseResult.GetValue(RankOption), parseResult.GetValue(WorkersOption),
            parseResult.GetValue(MegabytesOption), parseResult.GetValue(IterationsOption), parseResult.GetValue(WarmupOption),
            parseResult.GetValue(SealingOption) == "authenticated" ? FrameSealing.Authenticated : FrameSealing.Encrypted,
            parseResult.GetValue(SliceOption) * 1024 / sizeof(float), System.Net.IPAddress.Parse(parseResult.GetValue(ListenOption)!),
            parseResult.GetValue(WireOption) == "bf16" ? FlatLora.Collectives.WireFormat.Bf16 : FlatLora.Collectives.WireFormat.Fp32);
        await AllReduceWorker.RunAsync(options, Console.In, parseResult.InvocationConfiguration.Output, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
