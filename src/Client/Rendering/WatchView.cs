using System.Globalization;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;
using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>
/// Renders a progress stream until it ends: a live table of seeds (state, step, loss, tokens/s, ETA) on a terminal,
/// and plain lines (state changes, evals, a step line per seed every few seconds) in logs. Returns the final state of
/// the watched experiment or sweep.
/// </summary>
public sealed class WatchView(IAsyncEnumerable<ProgressEvent> events, string rootId)
{
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _lastLine = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _labels = new(StringComparer.Ordinal);
    private RunState _final = RunState.Pending;

    public async Task<RunState> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            await foreach (ProgressEvent e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
                Log(console, e);
            return _final;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("run", "seed", "state", "progress", "step", "loss", "tok/s", "ETA");
        await console.Live(table).StartAsync(async context =>
        {
            await foreach (ProgressEvent e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                Apply(e);
                Redraw(table);
                context.Refresh();
            }
        }).ConfigureAwait(false);
        return _final;
    }

    private void Apply(ProgressEvent e)
    {
        if (e.Seed < 0)
        {
            if (e.ExperimentId == rootId)
                _final = e.State;
            else if (e.Message is not null)
                _labels[e.ExperimentId] = e.Message;
            if (e.ExperimentId == rootId || !_rows.Keys.Any(k => k.StartsWith(e.ExperimentId, StringComparison.Ordinal)))
                return;
        }
        string key = $"{e.ExperimentId}/{e.Seed}";
        Row row = _rows.TryGetValue(key, out Row? existing) ? existing : _rows[key] = new Row(e.ExperimentId, e.Seed);
        if (e.Kind == ProgressKind.State)
            row.State = e.State;
        if (e.Kind == ProgressKind.Step)
            row.State = RunState.Running;
        if (e.Kind == ProgressKind.Step || e.Figures is not null)
        {
            row.Step = e.Step;
            row.Total = e.TotalSteps;
            row.Latest = e.Figures ?? row.Latest;
        }
    }

    private void Redraw(Table table)
    {
        table.Rows.Clear();
        foreach (Row row in _rows.Values.Where(r => r.Seed >= 0).OrderBy(r => r.Experiment, StringComparer.Ordinal).ThenBy(r => r.Seed))
        {
            double fraction = row.Total > 0 ? (double)row.Step / row.Total : row.State.IsFinal() ? 1 : 0;
            string bar = new string('█', (int)(fraction * 20)) + new string('░', 20 - (int)(fraction * 20));
            table.AddRow(Markup.Escape(_labels.GetValueOrDefault(row.Experiment, row.Experiment)), row.Seed.ToString(CultureInfo.InvariantCulture),
                StateMarkup(row.State), bar, $"{row.Step}/{row.Total}", Number(row.Latest?.Loss ?? double.NaN, "F4"),
                Number(row.Latest?.TokensPerSecond ?? double.NaN, "F0"),
                row.State == RunState.Running && row.Latest is { } latest ? Durations.Clock(latest.EtaSeconds) : "");
        }
    }

    private void Log(IAnsiConsole console, ProgressEvent e)
    {
        Apply(e);
        string who = e.Seed < 0 ? e.ExperimentId : $"{_labels.GetValueOrDefault(e.ExperimentId, e.ExperimentId)} seed {e.Seed}";
        switch (e.Kind)
        {
            case ProgressKind.State:
                console.WriteLine($"{who}: {e.State}{(e.Message is null || e.Seed < 0 && e.ExperimentId != rootId ? "" : $" ({e.Message})")}");
                break;
            case ProgressKind.Eval:
                string drift = double.IsFinite(e.EvalSegmentDrift)
                    ? string.Create(CultureInfo.InvariantCulture, $", segment drift {e.EvalSegmentDrift:F3} nats ({e.EvalHighDriftShare:P0} high)")
                    : "";
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{who}: eval @ step {e.Step}: loss {e.EvalLoss:F4}, exact match {e.EvalExactMatch:P1}, token accuracy {e.EvalTokenAccuracy:P1}") + drift);
                break;
            case ProgressKind.Step when e.Figures is { } step:
                string key = $"{e.ExperimentId}/{e.Seed}";
                if (!step.IsLast && _lastLine.TryGetValue(key, out DateTime last) && DateTime.UtcNow - last < TimeSpan.FromSeconds(5))
                    return;
                _lastLine[key] = DateTime.UtcNow;
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{who}: step {step.StepsDone}/{step.TotalSteps} loss {step.Loss:F4} {step.TokensPerSecond / 1000:F1}k tok/s ETA {Durations.Clock(step.EtaSeconds)}"));
                break;
        }
    }

    private static string StateMarkup(RunState state) => state switch
    {
        RunState.Completed => "[green]Completed[/]",
        RunState.Failed => "[red]Failed[/]",
        RunState.Running => "[blue]Running[/]",
        RunState.Cancelled or RunState.Stopped => $"[yellow]{state}[/]",
        _ => state.ToString(),
    };

    private static string Number(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "";

    private sealed class Row(string experiment, long seed)
    {
        public string Experiment { get; } = experiment;
        public long Seed { get; } = seed;
        public RunState State { get; set; }
        public long Step { get; set; }
        public long Total { get; set; }
        public StepFigures? Latest { get; set; }
    }
}
