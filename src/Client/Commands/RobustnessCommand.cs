using System.CommandLine;
using System.Globalization;
using FlatLora.Client.Rendering;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness.Evaluation;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using Spectre.Console;

namespace FlatLora.Client.Commands;

/// <summary>
/// `flatlora robustness`: S2R2's segment-level drift of generations under prompt perturbations, for a base model
/// and any number of adapters side by side (e.g. LoRA against Flat-LoRA), written as JSON or as an HTML report.
/// </summary>
internal sealed class RobustnessCommand : FlatloraCommand
{
    private const string DefaultPerturbations = "typo:light,typo:heavy,confusable:light,casing:heavy,punctuation:light,synonym:heavy";

    private static readonly Option<string> ModelOption = new("--model", "-m") { Description = "Hugging Face model folder, or 'tiny'", Required = true };
    private static readonly Option<string[]> AdapterOption = new("--adapter", "-a")
    { Description = "Adapter folder, optionally labelled: flat=runs/x/adapter (repeatable; none evaluates the base model)" };
    private static readonly Option<string> DataOption = new("--data", "-d")
    { Description = "JSONL file (the training formats; responses, when present, are references) or 'tiny-shift'", Required = true };
    private static readonly Option<string> PerturbOption = new("--perturb") { Description = "Perturbations, name[:light|heavy], comma-separated", DefaultValueFactory = _ => DefaultPerturbations };
    private static readonly Option<string> OutOption = new Option<string>("--out", "-o") { Description = "report.json, or report.html (which also writes the JSON beside it)", Required = true }.OutputFile();
    private static readonly Option<int> MaxExamplesOption = new("--max-examples") { DefaultValueFactory = _ => 32 };
    private static readonly Option<int> MaxNewTokensOption = new("--max-new-tokens") { DefaultValueFactory = _ => 48 };
    private static readonly Option<long> SeedOption = new("--seed") { Description = "Seeds the perturbations", DefaultValueFactory = _ => 1 };
    private static readonly Option<double> EpsilonOption = new("--epsilon") { Description = "Sinkhorn entropic regularisation", DefaultValueFactory = _ => 0.05 };
    private static readonly Option<string> MassOption = new("--mass") { Description = "Segment masses: uniform or length", DefaultValueFactory = _ => "uniform" };
    private static readonly Option<double> HighDriftOption = new("--high-drift") { Description = "Drift above which a segment counts as high-drift", DefaultValueFactory = _ => 0.3 };
    private static readonly Option<string?> EmbedderOption = new("--embedder") { Description = "Model folder for segment embeddings (default: the base model)" };
    private static readonly Option<string> FormatOption = new("--format") { Description = "Data format (as data.format)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> TemplateOption = new("--template") { Description = "Prompt template (as data.template)", DefaultValueFactory = _ => "alpaca" };
    private static readonly Option<string> DeviceOption = new("--device") { DefaultValueFactory = _ => "cpu" };
    private static readonly Option<string> DtypeOption = new("--dtype") { DefaultValueFactory = _ => "float32" };

    public RobustnessCommand() : base("robustness", "Segment-level drift of generations under prompt perturbations (S2R2), as JSON or HTML")
    {
        MassOption.AcceptOnlyFromAmong("uniform", "length");
        foreach (Option option in new Option[] { ModelOption, AdapterOption, DataOption, PerturbOption, OutOption, MaxExamplesOption, MaxNewTokensOption,
                     SeedOption, EpsilonOption, MassOption, HighDriftOption, EmbedderOption, FormatOption, TemplateOption, DeviceOption, DtypeOption })
            Options.Add(option);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        string output = parseResult.GetValue(OutOption)!;
        string extension = Path.GetExtension(output).ToLowerInvariant();
        if (extension is not (".json" or ".html"))
            throw new ArgumentException($"--out must end in .json or .html (got '{output}')");
        var settings = new GenerationDriftSettings
        {
            Perturbations = PerturbationCatalog.Parse(parseResult.GetValue(PerturbOption)!).Select(p => p.Label).ToList(),
            MaxExamples = Positive(parseResult.GetValue(MaxExamplesOption), "--max-examples"),
            MaxNewTokens = Positive(parseResult.GetValue(MaxNewTokensOption), "--max-new-tokens"),
            Seed = parseResult.GetValue(SeedOption),
            Epsilon = parseResult.GetValue(EpsilonOption) is > 0 and var epsilon ? epsilon : throw new ArgumentException("--epsilon must be positive"),
            Mass = parseResult.GetValue(MassOption)!,
            HighDrift = parseResult.GetValue(HighDriftOption) is > 0 and var high ? high : throw new ArgumentException("--high-drift must be positive"),
            Embedder = parseResult.GetValue(EmbedderOption),
        };
        var adapters = AdapterArgument.ParseAll(parseResult.GetValue(AdapterOption));
        var console = ConsoleFactory.ForErrors(parseResult.InvocationConfiguration.Error);
        string modelName = parseResult.GetValue(ModelOption)!, data = parseResult.GetValue(DataOption)!;

        RobustnessReport report = await Task.Factory.StartNew(() =>
        {
            BaseModel baseModel = BaseModelCatalog.Resolve(modelName, SilentObserver.Instance);
            IReadOnlyList<TrainingExample> examples = LoadData(data, parseResult.GetValue(FormatOption)!, parseResult.GetValue(TemplateOption)!, baseModel);
            var dtype = DeviceSelector.Dtype(parseResult.GetValue(DtypeOption)!);
            var device = DeviceSelector.Resolve(parseResult.GetValue(DeviceOption)!);
            BaseModel embedBase = settings.Embedder is null ? baseModel : BaseModelCatalog.Resolve(settings.Embedder, SilentObserver.Instance);
            using LlamaForCausalLM embedModel = ModelLoader.Load(embedBase, null, dtype, device);
            var embedder = new SegmentEmbedder(embedModel, embedBase.Tokenizer);
            var models = new List<ModelRobustness>();
            foreach ((string label, string? adapter) in adapters.Count == 0 ? [("base", null)] : adapters.Select(a => (a.Label, (string?)a.Directory)))
            {
                console.WriteLine($"Evaluating {label}: {Math.Min(examples.Count, settings.MaxExamples)} examples × {settings.Perturbations.Count + 1} prompts...");
                using LlamaForCausalLM model = ModelLoader.Load(baseModel, adapter, dtype, device);
                models.Add(GenerationDriftEvaluator.Evaluate(label, adapter, model, baseModel.Tokenizer, embedder, examples, settings,
                    message => console.WriteLine(message)));
            }
            return new RobustnessReport(modelName, data, settings, models, DateTime.UtcNow);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string json = RobustnessReportJson.Serialize(report);
        if (extension == ".html")
        {
            await File.WriteAllTextAsync(output, RobustnessHtml.Render(report), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.ChangeExtension(output, ".json"), json, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await File.WriteAllTextAsync(output, json, cancellationToken).ConfigureAwait(false);
        }
        await WriteSummaryAsync(parseResult.InvocationConfiguration.Output, report).ConfigureAwait(false);
        console.WriteLine($"Report written to {Path.GetFullPath(output)}");
        return ExitCodes.Success;
    }

    private static async Task WriteSummaryAsync(TextWriter output, RobustnessReport report)
    {
        IAnsiConsole table = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        table.Profile.Width = 200;
        var grid = new Table().AddColumns("perturbation", "model", "mean drift", "p95", "max", "high-drift", "seq. similarity", "hidden", "critical", "PDR");
        foreach (PerturbationSummary first in report.Models[0].Summary)
        {
            foreach (ModelRobustness model in report.Models)
            {
                PerturbationSummary s = model.Summary.First(x => x.Perturbation == first.Perturbation);
                grid.AddRow(s.Perturbation, Markup.Escape(model.Label), F(s.MeanDrift), F(s.P95Drift), F(s.MaxDrift), s.HighDriftShare.ToString("P1", CultureInfo.InvariantCulture),
                    F(s.MeanSequenceSimilarity), $"{s.HiddenDriftExamples}/{s.Examples}", s.CriticalChanges.ToString(CultureInfo.InvariantCulture),
                    s.PerformanceDropRate is double pdr ? pdr.ToString("P1", CultureInfo.InvariantCulture) : "-");
            }
        }
        table.Write(grid);
        await output.FlushAsync().ConfigureAwait(false);
    }

    private static IReadOnlyList<TrainingExample> LoadData(string data, string format, string template, BaseModel baseModel)
    {
        if (data == TinyShiftTask.Name)
            return TinyShiftTask.FineTuning().Eval;
        if (!File.Exists(data))
            throw new FileNotFoundException($"--data: file not found: {data} (or use '{TinyShiftTask.Name}')", data);
        return DatasetReader.Read(data, format, template, baseModel.Tokenizer.ChatTemplate);
    }

    private static int Positive(int value, string name) => value >= 1 ? value : throw new ArgumentException($"{name} must be at least 1 (got {value})");

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}
