using System.CommandLine;
using System.Globalization;
using FlatLora.Client.Rendering;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Training;

namespace FlatLora.Client.Commands;

/// <summary>`flatlora train`: one local run on this machine, from a spec file or the built-in tiny task.</summary>
internal sealed class TrainCommand : FlatloraCommand
{
    private static readonly Option<FileInfo?> ConfigOption = new("--config", "-c")
    { Description = "Run spec (YAML or JSON). Without it the built-in tiny task runs (see examples/tiny.yaml)." };
    private static readonly Option<string[]> SetOption = new("--set")
    { Description = "Override a spec field, e.g. --set lora.rank=16 (repeatable)" };
    private static readonly Option<string?> MethodOption = new("--method") { Description = "lora or flat" };
    private static readonly Option<double?> RhoOption = new("--rho") { Description = "Flat-LoRA noise scale ρ" };
    private static readonly Option<int?> StepsOption = new("--steps") { Description = "Optimizer steps (training.max_steps)" };
    private static readonly Option<long?> SeedOption = new("--seed") { Description = "Run seed" };
    private static readonly Option<string?> OutputOption = new Option<string?>("--output", "-o") { Description = "Output folder (output_dir)" }.OutputFolder();
    private static readonly Option<string?> ResumeOption = new("--resume")
    {
        Description = "Resume from the newest checkpoint in output_dir, or from the checkpoint folder given",
        Arity = ArgumentArity.ZeroOrOne,
    };
    private static readonly Option<string> FormatOption = new("--format")
    { Description = "Result format on stdout: text or json", DefaultValueFactory = _ => "text" };

    public TrainCommand() : base("train", "Fine-tune with LoRA or Flat-LoRA on this machine")
    {
        MethodOption.AcceptOnlyFromAmong(MethodSpec.Lora, MethodSpec.Flat);
        FormatOption.AcceptOnlyFromAmong("text", "json");
        Options.Add(ConfigOption);
        Options.Add(SetOption);
        Options.Add(MethodOption);
        Options.Add(RhoOption);
        Options.Add(StepsOption);
        Options.Add(SeedOption);
        Options.Add(OutputOption);
        Options.Add(ResumeOption);
        Options.Add(FormatOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        ValidTrainSpec valid = ValidTrainSpec.From(LoadSpec(parseResult));
        TrainSpec spec = valid.Spec;
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        bool resume = parseResult.GetResult(ResumeOption) is not null;
        string? resumeFrom = parseResult.GetValue(ResumeOption);

        TrainResult result = await TrainingProgress.RunAsync(console, spec.Training.LogEvery, observer =>
        {
            using var run = FineTuneRun.Create(valid, new RunOptions { Observer = observer, Cancellation = cancellationToken });
            if (resume)
            {
                string checkpoint = resumeFrom ?? run.LatestCheckpoint()
                    ?? throw new FileNotFoundException($"--resume: no checkpoint under {Path.Combine(spec.OutputDir, "checkpoints")}");
                run.ResumeFrom(checkpoint);
            }
            return run.Train(cancellationToken);
        }).ConfigureAwait(false);

        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(FormatOption) == "json")
            await output.WriteLineAsync(await File.ReadAllTextAsync(Path.Combine(spec.OutputDir, "summary.json"), cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        else
            await output.WriteLineAsync(Describe(spec, result)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static TrainSpec LoadSpec(ParseResult parseResult)
    {
        var overrides = new List<string>();
        if (parseResult.GetValue(MethodOption) is string method)
            overrides.Add($"method.name={method}");
        if (parseResult.GetValue(RhoOption) is double rho)
            overrides.Add(string.Create(CultureInfo.InvariantCulture, $"method.rho={rho}"));
        if (parseResult.GetValue(StepsOption) is int steps)
            overrides.Add($"training.max_steps={steps}");
        if (parseResult.GetValue(SeedOption) is long seed)
            overrides.Add($"seed={seed}");
        if (parseResult.GetValue(OutputOption) is string output)
            overrides.Add($"output_dir={output}");
        overrides.AddRange(parseResult.GetValue(SetOption) ?? []);

        FileInfo? config = parseResult.GetValue(ConfigOption);
        if (config is not null)
            return SpecLoader.LoadFile<TrainSpec>(config.FullName, overrides);
        return SpecLoader.WithOverrides(TrainPresets.Tiny(parseResult.GetValue(MethodOption) ?? MethodSpec.Flat), overrides);
    }

    private static string Describe(TrainSpec spec, TrainResult result)
    {
        RunMetrics r = result.Metrics;
        string method = spec.Method.IsFlat ? string.Create(CultureInfo.InvariantCulture, $"Flat-LoRA (ρ={spec.Method.Rho})") : "LoRA";
        string eval = result.FinalEval is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $"; eval exact match {r.EvalExactMatch:P1}, token accuracy {r.EvalTokenAccuracy:P1}");
        string frozen = r.FrozenWeightsUnchanged switch { true => "yes", false => "NO", null => "not checked" };
        return string.Create(CultureInfo.InvariantCulture,
            $"""
            Done: {r.Steps} steps of {method} in {r.ElapsedSeconds:F1} s, loss {r.InitialLoss:F3} -> {r.FinalLoss:F3}{eval}, {r.TokensPerSecond / 1000:F1}k tokens/s.
            Frozen base weights bit-identical: {frozen}
            Adapter (PEFT format): {r.AdapterDirectory}
            Metrics: {Path.Combine(spec.OutputDir, "metrics.jsonl")}   Summary: {Path.Combine(spec.OutputDir, "summary.json")}
            """);
    }
}
