using System.Globalization;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Training;
using Spectre.Console;

namespace FlatLora.Client.Rendering;

/// <summary>
/// Shows a run's progress on stderr: a live bar (step, loss, tokens/s, ETA) on a terminal, plain lines otherwise
/// (CI logs, pipes). Observer calls come from the training thread.
/// </summary>
public sealed class TrainingProgress : ITrainingObserver
{
    private readonly IAnsiConsole _console;
    private readonly int _logEvery;
    private ProgressTask? _bar;

    private TrainingProgress(IAnsiConsole console, int logEvery)
    {
        _console = console;
        _logEvery = Math.Max(1, logEvery);
    }

    /// <summary>Runs <paramref name="work"/> on its own thread with progress rendered meanwhile.</summary>
    public static async Task<T> RunAsync<T>(IAnsiConsole console, int logEvery, Func<ITrainingObserver, T> work)
    {
        var progress = new TrainingProgress(console, logEvery);
        Task<T> Start() => Task.Factory.StartNew(() => work(progress), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!console.Profile.Capabilities.Interactive)
            return await Start().ConfigureAwait(false);
        return await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                progress._bar = context.AddTask("starting", autoStart: true, maxValue: 1);
                try
                {
                    return await Start().ConfigureAwait(false);
                }
                finally
                {
                    progress._bar.StopTask();
                }
            }).ConfigureAwait(false);
    }

    public void OnStep(StepReport report)
    {
        StepFigures r = report.Figures;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"step {r.StepsDone}/{r.TotalSteps}  loss {r.Loss:F4}  lr {r.LearningRate:0.00e+00}  σ {r.Sigma:0.0000}  " +
            $"{r.TokensPerSecond / 1000:F1}k tok/s  ETA {Durations.Clock(r.EtaSeconds)}");
        if (_bar is not null)
        {
            _bar.MaxValue = r.TotalSteps;
            _bar.Value = r.StepsDone;
            _bar.Description = Markup.Escape(line);
        }
        else if (StepLogging.IsDue(r, _logEvery))
        {
            _console.WriteLine(line);
        }
    }

    public void OnEval(EvalReport report) => _console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"eval @ step {report.Step}: loss {report.Loss:F4}  token accuracy {report.TokenAccuracy:P1}  exact match {report.ExactMatch:P1} ({report.Examples} examples)"));

    public void OnCheckpoint(long step, string directory, TimeSpan duration) => _console.WriteLine($"checkpoint @ step {step}: {directory}");

    public void OnInfo(string message) => _console.WriteLine(message);
}
