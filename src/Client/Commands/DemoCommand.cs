using System.CommandLine;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Client.Cluster;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora demo`: an in-process silo with CPU shards runs a sweep of LoRA vs Flat-LoRA over several seeds on the
/// built-in tiny task, shows live progress, and prints the results table with a Welch t-test. No downloads.
/// </summary>
internal sealed class DemoCommand : FlatloraCommand
{
    private const double DemoSigma = 0.05;

    private static readonly Option<int> SeedsOption = new("--seeds") { Description = "Seeds per method", DefaultValueFactory = _ => 3 };
    private static readonly Option<int> StepsOption = new("--steps") { Description = "Optimizer steps per run", DefaultValueFactory = _ => 300 };
    private static readonly Option<int> ShardsOption = new("--shards") { Description = "CPU shards of the in-process silo (without --api)", DefaultValueFactory = _ => 2 };
    private static readonly Option<string> OutputOption = new Option<string>("--output", "-o") { Description = "Where runs write adapters and checkpoints", DefaultValueFactory = _ => "runs/demo" }.OutputFolder();
    private static readonly Option<string> FormatOption = new("--format") { Description = "Results format: table, json or csv", DefaultValueFactory = _ => "table" };

    public DemoCommand() : base("demo", "LoRA vs Flat-LoRA on the built-in tiny task, over several seeds, in an in-process cluster")
    {
        FormatOption.AcceptOnlyFromAmong(ResultsView.Formats);
        foreach (Option option in new Option[] { SeedsOption, StepsOption, ShardsOption, OutputOption, FormatOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        int seeds = parseResult.GetValue(SeedsOption), steps = parseResult.GetValue(StepsOption), shards = parseResult.GetValue(ShardsOption);
        if (seeds < 2)
            throw new ArgumentException("--seeds must be at least 2 (a t-test needs two seeds per method)");
        if (steps < 1 || shards < 1)
            throw new ArgumentException("--steps and --shards must be at least 1");
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        TrainSpec baseSpec = TrainPresets.Tiny() with
        {
            Training = TrainPresets.Tiny().Training with { MaxSteps = steps, EvalEvery = Math.Max(1, steps / 3) },
            // Is Flat-LoRA flatter? Expected sharpness of each run's final weights at the training ρ, on common noise.
            Evaluation = new EvaluationSpec { Flatness = new FlatnessSpec { Sigma = [DemoSigma], Samples = 32 } },
            OutputDir = parseResult.GetValue(OutputOption)!,
        };
        var sweep = new SweepSpec
        {
            Name = "demo: LoRA vs Flat-LoRA on tiny-shift",
            Grid = new() { ["method.name"] = [MethodSpec.Lora, MethodSpec.Flat] },
            Seeds = Enumerable.Range(1, seeds).Select(s => (long)s).ToArray(),
            MaxConcurrent = 2,
            Compare = new CompareSpec { Field = "method.name", A = MethodSpec.Lora, B = MethodSpec.Flat },
            Metrics = ["eval_exact_match", "eval_token_accuracy", "eval_loss", "final_loss", "eval_segment_drift", "eval_high_drift_share",
                FlatnessMetrics.Name(DemoSigma)],
        };
        SweepPlanner.Expand(sweep, baseSpec);

        // With --api the demo runs on that cluster (its silos pretrain the base and hold the outputs); otherwise on an
        // in-process silo, through the same API.
        bool remote = parseResult.GetResult(GlobalOptions.Api) is not null;
        ApiOptions connection = remote
            ? GlobalOptions.Connection(parseResult) with { Local = false }
            : new ApiOptions { Local = true, LocalCpuSlots = shards };
        if (!remote)
        {
            // Pretrain the shared base once, here, rather than in every shard at the same moment.
            await Task.Run(() => TinyBaseModel.EnsurePretrained(new ConsoleObserver(console)), cancellationToken).ConfigureAwait(false);
            console.WriteLine($"Starting an in-process silo with {shards} CPU shard(s)...");
        }
        await using ApiSession cluster = await ApiSession.OpenAsync(connection, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        SweepStatus submitted = await cluster.SubmitSweepAsync(sweep with { Spec = baseSpec }, "demo", cancellationToken).ConfigureAwait(false);
        string id = submitted.Id;
        console.WriteLine($"Sweep {id}: LoRA and Flat-LoRA (ρ={baseSpec.Method.Rho}) × {seeds} seeds, {steps} steps each.");
        RunState final = await Watching.FollowAsync(cluster, id, console, cancellationToken).ConfigureAwait(false);
        // The table ends with the flatness verdict: whether Flat-LoRA is flatter than LoRA at p < 0.05, whatever the answer.
        ResultsView.Write(await cluster.SweepResultsAsync(id, cancellationToken).ConfigureAwait(false), parseResult.GetValue(FormatOption)!, parseResult.InvocationConfiguration.Output);
        return ClusterCommand.ExitCodeFor(final);
    }

    private sealed class ConsoleObserver(IAnsiConsole console) : ITrainingObserver
    {
        public void OnInfo(string message) => console.WriteLine(message);
    }
}
