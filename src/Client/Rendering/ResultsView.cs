using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using Spectre.Console;
using FlatLora.Spec.Reporting;

namespace FlatLora.Client.Rendering;

/// <summary>Experiment and sweep results as a table (people), JSON (programs) or CSV (spreadsheets), on stdout.</summary>
public static class ResultsView
{
    public static readonly string[] Formats = ["table", "json", "csv"];

    public static void Write(ExperimentResults results, string format, TextWriter output)
    {
        switch (format)
        {
            case "json":
                output.WriteLine(JsonSerializer.Serialize(results, Json));
                break;
            case "csv":
                string[] sharpness = results.Status.Seeds.SelectMany(s => (IEnumerable<string>?)s.Metrics?.Sharpness.Keys ?? []).Distinct().Order(StringComparer.Ordinal).ToArray();
                var csv = new StringBuilder("seed,state,attempts,unrouted_starts,preemptions,steps,initial_loss,final_loss,eval_loss,eval_exact_match,eval_token_accuracy,tokens_per_second,adapter_dir");
                foreach (string metric in sharpness)
                    csv.Append(',').Append(metric);
                csv.Append('\n');
                foreach (SeedRunStatus s in results.Status.Seeds)
                {
                    RunMetrics m = s.Metrics ?? new RunMetrics();
                    csv.Append(CultureInfo.InvariantCulture, $"{s.Seed},{s.State},{s.Attempts},{s.UnroutedStarts},{s.Preemptions},{m.Steps},{N(m.InitialLoss)},{N(m.FinalLoss)},{N(m.EvalLoss)},")
                       .Append(CultureInfo.InvariantCulture, $"{N(m.EvalExactMatch)},{N(m.EvalTokenAccuracy)},{N(m.TokensPerSecond)},{Csv(m.AdapterDirectory)}");
                    foreach (string metric in sharpness)
                        csv.Append(',').Append(N(m.Get(metric)));
                    csv.Append('\n');
                }
                output.Write(csv.ToString());
                break;
            default:
                IAnsiConsole console = ConsoleFor(output);
                ExperimentStatus status = results.Status;
                console.WriteLine($"{status.Id}{(status.Name is null ? "" : $" ({status.Name})")}: {status.State}, method {status.Method}" +
                                  (status.Method == "flat" ? string.Create(CultureInfo.InvariantCulture, $" ρ={status.Rho}") : ""));
                var table = new Table().AddColumns("seed", "state", "attempts", "steps", "final loss", "eval loss", "exact match", "token acc.", "tok/s");
                foreach (SeedRunStatus s in status.Seeds)
                {
                    RunMetrics m = s.Metrics ?? new RunMetrics();
                    table.AddRow(s.Seed.ToString(CultureInfo.InvariantCulture), s.State.ToString(), AttemptsCell(s),
                        m.Steps.ToString(CultureInfo.InvariantCulture), F(m.FinalLoss, "F4"), F(m.EvalLoss, "F4"), F(m.EvalExactMatch, "P1"),
                        F(m.EvalTokenAccuracy, "P1"), F(m.TokensPerSecond, "F0"));
                }
                console.Write(table);
                foreach (MetricSummary summary in results.Summary.Where(x => x.Count > 0 && x.Metric.StartsWith("eval", StringComparison.Ordinal) || x.Metric == "final_loss"
                             || x.Metric.StartsWith(FlatnessMetrics.Prefix, StringComparison.Ordinal)))
                    console.WriteLine($"  {summary.Metric}: {MeanStd(summary)}");
                foreach (SeedRunStatus s in status.Seeds.Where(s => s.Error is not null))
                    console.WriteLine($"  seed {s.Seed}: {s.Error}");
                foreach (SeedRunStatus s in status.Seeds.Where(s => s.Metrics?.AdapterDirectory is not null))
                    console.WriteLine($"  seed {s.Seed} adapter: {s.Metrics!.AdapterDirectory}");
                break;
        }
    }

    public static void Write(SweepResults results, string format, TextWriter output)
    {
        string[] metrics = results.Rows.SelectMany(r => r.Metrics.Select(m => m.Metric)).Distinct().ToArray();
        switch (format)
        {
            case "json":
                output.WriteLine(JsonSerializer.Serialize(results, Json));
                break;
            case "csv":
                var csv = new StringBuilder("index,configuration,experiment,seeds,stopped,preemptions");
                foreach (string metric in metrics)
                    csv.Append(CultureInfo.InvariantCulture, $",{metric}_mean,{metric}_std");
                csv.Append('\n');
                foreach (ConfigurationResult row in results.Rows)
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{row.Index},{Csv(row.Label)},{row.ExperimentId},{row.Seeds},{row.Stopped},{row.Preemptions}");
                    foreach (string metric in metrics)
                    {
                        MetricSummary? m = row.Metrics.FirstOrDefault(x => x.Metric == metric);
                        csv.Append(CultureInfo.InvariantCulture, $",{N(m?.Mean ?? double.NaN)},{N(m?.Std ?? double.NaN)}");
                    }
                    csv.Append('\n');
                }
                output.Write(csv.ToString());
                break;
            default:
                IAnsiConsole console = ConsoleFor(output);
                console.WriteLine($"{results.Status.Id}{(results.Status.Name is null ? "" : $" ({results.Status.Name})")}: {results.Status.State}" +
                                  (results.Status.EarlyStopped > 0 ? $", {results.Status.EarlyStopped} run(s) stopped early" : ""));
                bool preempted = results.Rows.Any(r => r.Preemptions > 0);
                var table = new Table().AddColumn("configuration").AddColumn("seeds");
                if (preempted)
                    table.AddColumn("preempted");
                foreach (string metric in metrics)
                    table.AddColumn($"{metric} (mean ± std)");
                foreach (ConfigurationResult row in results.Rows)
                {
                    var cells = new List<string> { Markup.Escape(row.Label), row.Seeds.ToString(CultureInfo.InvariantCulture) };
                    if (preempted)
                        cells.Add(row.Preemptions.ToString(CultureInfo.InvariantCulture));
                    cells.AddRange(metrics.Select(metric => row.Metrics.FirstOrDefault(m => m.Metric == metric) is { } m ? MeanStd(m) : ""));
                    table.AddRow(cells.ToArray());
                }
                console.Write(table);
                if (results.Comparisons.Count > 0)
                {
                    var tests = new Table().AddColumns("metric", "A", "B", "mean A", "mean B", "t", "df", "p (Welch)");
                    foreach (Comparison c in results.Comparisons)
                        tests.AddRow(c.Metric, Markup.Escape(c.LabelA), Markup.Escape(c.LabelB), F(c.MeanA, "G4"), F(c.MeanB, "G4"), F(c.T, "F3"),
                            F(c.DegreesOfFreedom, "F1"), F(c.P, "F3"));
                    console.Write(tests);
                    foreach (string verdict in FlatnessVerdict.Describe(results))
                        console.WriteLine("Flatness: " + verdict);
                }
                foreach (ConfigurationResult row in results.Rows.Where(r => r.AdapterDirectories.Count > 0))
                    console.WriteLine($"  adapters of {row.Label}: {Path.GetDirectoryName(Path.GetDirectoryName(row.AdapterDirectories[0]))}/seed-*/adapter");
                break;
        }
    }

    private static string MeanStd(MetricSummary m) => m.Count == 0 ? "" : m.Metric.Contains("exact", StringComparison.Ordinal) || m.Metric.Contains("accuracy", StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"{100 * m.Mean:F1} ± {(double.IsFinite(m.Std) ? 100 * m.Std : 0):F1} %")
        : string.Create(CultureInfo.InvariantCulture, $"{m.Mean:F4} ± {(double.IsFinite(m.Std) ? m.Std : 0):F4}");

    private static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "";

    // Attempts that trained, with start tries that never reached a shard beside them.
    private static string AttemptsCell(SeedRunStatus s) => s.UnroutedStarts == 0
        ? s.Attempts.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{s.Attempts} (+{s.UnroutedStarts} unrouted)");

    private static string N(double value) => double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Csv(string? value) => value is null ? "" : value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal)
        ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;

    private static IAnsiConsole ConsoleFor(TextWriter output)
    {
        bool terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal)
            console.Profile.Width = 200;
        return console;
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new FiniteDoubleConverter(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>JSON has no NaN: missing figures are written as null.</summary>
    private sealed class FiniteDoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
                writer.WriteNumberValue(value);
            else
                writer.WriteNullValue();
        }
    }
}
