using System.CommandLine;
using System.Globalization;
using FlatLora.Client.Rendering;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Flatness;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora flatness`: how flat the loss is around each adapter's merged weights, and the base's, in the full weight
/// space: expected sharpness under Flat-LoRA's noise with confidence intervals, loss curves along filter-normalised
/// directions, optionally the top Hessian eigenvalue; as a table or JSON on stdout and an HTML or JSON report.
/// </summary>
internal sealed class FlatnessCommand : FlatloraCommand
{
    private static readonly Option<string> ModelOption = new("--model", "-m") { Description = "Hugging Face model folder or hub id, or 'tiny'", Required = true };
    private static readonly Option<string[]> AdapterOption = new("--adapter", "-a")
    { Description = "Adapter folder, optionally labelled: flat=runs/x/adapter (repeatable; the base is always probed too)" };
    private static readonly Option<string> DataOption = new("--data", "-d")
    { Description = "Evaluation data (the training formats, JSONL or Parquet) or 'tiny-shift'", Required = true };
    private static readonly Option<string> SigmaOption = new("--sigma") { Description = "Noise scales σ, comma-separated", DefaultValueFactory = _ => "0.01,0.02,0.05,0.1" };
    private static readonly Option<int> SamplesOption = new("--samples") { Description = "Seeded noise samples per σ", DefaultValueFactory = _ => 16 };
    private static readonly Option<int> DirectionsOption = new("--directions") { Description = "Random directions for the loss curves", DefaultValueFactory = _ => 3 };
    private static readonly Option<int> PointsOption = new("--points") { Description = "Points per curve (odd)", DefaultValueFactory = _ => 21 };
    private static readonly Option<double> AlphaMaxOption = new("--alpha-max") { Description = "Curves span α ∈ [−a, a]", DefaultValueFactory = _ => 1.0 };
    private static readonly Option<int> HessianOption = new("--hessian-iterations") { Description = "Power iterations for the top Hessian eigenvalue (0: skip)", DefaultValueFactory = _ => 0 };
    private static readonly Option<long> SeedOption = new("--seed") { Description = "Seeds the noise and directions (shared by every model)", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> MaxExamplesOption = new("--max-examples") { Description = "Use the first N examples (0: all)", DefaultValueFactory = _ => 128 };
    private static readonly Option<int> MaxSeqLenOption = new("--max-seq-len") { Description = "Tokens per example (as data.max_seq_len)", DefaultValueFactory = _ => 256 };
    private static readonly Option<int> MicroBatchOption = new("--micro-batch") { Description = "Examples per forward pass", DefaultValueFactory = _ => 16 };
    private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "report.html (which also writes report.json beside it) or report.json", Required = true }.OutputFile();
    private static readonly Option<string> FormatOption = new("--format") { Description = "stdout: table or json", DefaultValueFactory = _ => "table" };
    private static readonly Option<string> DataFormatOption = new("--data-format") { Description = "Data format (as data.format)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> TemplateOption = new("--template") { Description = "Prompt template (as data.template)", DefaultValueFactory = _ => "alpaca" };
    private static readonly Option<string> DeviceOption = new("--device") { DefaultValueFactory = _ => "cpu" };
    private static readonly Option<string> DtypeOption = new("--dtype") { DefaultValueFactory = _ => "float32" };

    public FlatnessCommand() : base("flatness", "Full-space sharpness and loss-landscape curves of adapters against the base, as a table, JSON or HTML")
    {
        FormatOption.AcceptOnlyFromAmong("table", "json");
        foreach (Option option in new Option[] { ModelOption, AdapterOption, DataOption, SigmaOption, SamplesOption, DirectionsOption, PointsOption,
                     AlphaMaxOption, HessianOption, SeedOption, MaxExamplesOption, MaxSeqLenOption, MicroBatchOption, OutOption, FormatOption,
                     DataFormatOption, TemplateOption, DeviceOption, DtypeOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string output = parseResult.GetValue(OutOption)!;
        string extension = Path.GetExtension(output).ToLowerInvariant();
        if (extension is not (".json" or ".html"))
            throw new ArgumentException($"--out: must end in .json or .html (got '{output}')");
        var settings = new FlatnessSettings
        {
            Sigmas = ParseSigmas(parseResult.GetValue(SigmaOption)!),
            Samples = parseResult.GetValue(SamplesOption),
            Directions = parseResult.GetValue(DirectionsOption),
            Points = parseResult.GetValue(PointsOption),
            AlphaMax = parseResult.GetValue(AlphaMaxOption),
            HessianIterations = parseResult.GetValue(HessianOption),
            Seed = parseResult.GetValue(SeedOption),
        };
        settings.Validate(name => "--" + name);
        var adapters = AdapterArgument.ParseAll(parseResult.GetValue(AdapterOption));
        if (adapters.Any(a => a.Label == "base"))
            throw new ArgumentException("--adapter: 'base' is the label of the base model, which is always probed; label the adapter otherwise");
        int maxExamples = parseResult.GetValue(MaxExamplesOption), microBatch = parseResult.GetValue(MicroBatchOption), maxSeqLen = parseResult.GetValue(MaxSeqLenOption);
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        string modelName = parseResult.GetValue(ModelOption)!, data = parseResult.GetValue(DataOption)!;

        FlatnessReport report = await Task.Factory.StartNew(() =>
        {
            BaseModel baseModel = BaseModelCatalog.Resolve(modelName, SilentObserver.Instance);
            List<EncodedExample> examples = LoadData(data, parseResult.GetValue(DataFormatOption)!, parseResult.GetValue(TemplateOption)!,
                baseModel, Math.Min(maxSeqLen, baseModel.Config.MaxPositionEmbeddings - 1), maxExamples, cancellationToken);
            var dtype = DeviceSelector.Dtype(parseResult.GetValue(DtypeOption)!);
            var device = DeviceSelector.Resolve(parseResult.GetValue(DeviceOption)!);
            // The base is perturbed on the layers the first adapter adapts (its B = 0, so W' = W).
            LoraOptions layers = adapters.Count > 0 ? PeftAdapter.ReadOptions(adapters[0].Directory) : LoraOptions.From(new Spec.LoraSpec());
            int evaluations = settings.Sigmas.Count * settings.Samples + settings.Directions * settings.Points + 1;
            var models = new List<ModelFlatness>();
            foreach ((string label, string? adapter) in adapters.Select(a => (a.Label, (string?)a.Directory)).Prepend(("base", null)))
            {
                console.WriteLine($"Probing {label}: {examples.Count} examples × {evaluations} evaluations" +
                                  (settings.HessianIterations > 0 ? $" + {settings.HessianIterations} Hessian iterations..." : "..."));
                using LlamaForCausalLM model = adapter is null
                    ? ModelLoader.LoadWithEmptyAdapter(baseModel, layers, dtype, device, cancellationToken)
                    : ModelLoader.Load(baseModel, adapter, dtype, device, cancellationToken);
                models.Add(SharpnessProbe.Measure(label, adapter, model, examples, baseModel.Tokenizer.PadId, microBatch, settings,
                    message => console.WriteLine("  " + message), cancellationToken));
            }
            return new FlatnessReport(modelName, data, settings, examples.Count, models, DateTime.UtcNow);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string json = FlatnessReportJson.Serialize(report);
        if (extension == ".html")
        {
            await File.WriteAllTextAsync(output, FlatnessHtml.Render(report), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.ChangeExtension(output, ".json"), json, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await File.WriteAllTextAsync(output, json, cancellationToken).ConfigureAwait(false);
        }
        TextWriter stdout = parseResult.InvocationConfiguration.Output;
        if (parseResult.GetValue(FormatOption) == "json")
            await stdout.WriteLineAsync(json).ConfigureAwait(false);
        else
            WriteTable(stdout, report);
        await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        console.WriteLine($"Report written to {Path.GetFullPath(output)}");
        return ExitCodes.Success;
    }

    private static void WriteTable(TextWriter output, FlatnessReport report)
    {
        IAnsiConsole table = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        table.Profile.Width = 200;
        var grid = new Table().AddColumns("σ", "model", "L(W')", "sharpness", "95 % CI", "λ_max");
        foreach (double sigma in report.Settings.Sigmas)
        {
            foreach (ModelFlatness model in report.Models)
            {
                SharpnessEstimate e = model.Sharpness.First(x => x.Sigma == sigma);
                grid.AddRow(F(sigma), Markup.Escape(model.Label), model.Loss.ToString("F4", CultureInfo.InvariantCulture), F(e.Mean), Markup.Escape($"[{F(e.Low)}, {F(e.High)}]"),
                    model.Hessian.TopEigenvalue is double l ? F(l) : "-");
            }
        }
        table.Write(grid);
        foreach (FlatnessComparison c in report.Comparisons.Where(c => c.A != "base" && c.B != "base"))
        {
            string reading = !c.Significant ? "no difference at p < 0.05" : c.MeanDifference < 0 ? $"{c.A} is flatter (p < 0.05)" : $"{c.B} is flatter (p < 0.05)";
            output.WriteLine($"σ = {F(c.Sigma)}: {c.A} − {c.B} = {F(c.MeanDifference)} [{F(c.Low)}, {F(c.High)}] (paired over the noise samples): {reading}");
        }
    }

    private static List<EncodedExample> LoadData(string data, string format, string template, BaseModel baseModel, int maxSeqLen, int maxExamples,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<TrainingExample> examples;
        if (data == TinyShiftTask.Name)
        {
            examples = TinyShiftTask.FineTuning().Eval;
        }
        else
        {
            if (!File.Exists(data))
                throw new FileNotFoundException($"--data: file not found: {data} (or use '{TinyShiftTask.Name}')", data);
            examples = DatasetReader.Read(data, format, template, baseModel.Tokenizer.ChatTemplate, cancellationToken: cancellationToken);
        }
        if (maxExamples > 0)
            examples = examples.Take(maxExamples).ToList();
        var encoded = examples.Select(e => ExampleEncoder.Encode(e, baseModel.Tokenizer, maxSeqLen)).Where(e => e.TargetCount > 0).ToList();
        return encoded.Count > 0 ? encoded : throw new InvalidDataException($"{data}: no example has a response to take the loss on");
    }

    private static List<double> ParseSigmas(string text)
    {
        var sigmas = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double sigma))
                throw new ArgumentException($"--sigma: '{part}' is not a number (write a comma-separated list, e.g. 0.01,0.05)");
            sigmas.Add(sigma);
        }
        return sigmas;
    }

    private static string F(double value) => double.IsFinite(value) ? value.ToString("G4", CultureInfo.InvariantCulture) : "-";
}
