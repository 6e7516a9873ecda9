using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Telemetry;

/// <summary>
/// The "FlatLora.Training" meter: what the runs on this silo's devices do. Names follow Prometheus conventions once
/// exported (base units in the name, counters end in _total). Labels are low-cardinality: experiment, seed, rank,
/// method (lora or flat) and node; never per step or per example.
/// </summary>
public sealed class TrainingMeter : IDisposable
{
    public const string Name = "FlatLora.Training";

    // Kept a while after a run ends, so a scrape after its final evaluation still sees the value.
    private static readonly TimeSpan FinishedRunGrace = TimeSpan.FromMinutes(5);

    private readonly Meter _meter;
    private readonly string _node;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _samples;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _nonFiniteLosses;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _exchangeBytes;
    private readonly Histogram<double> _exchangeDuration;
    private readonly Histogram<double> _checkpointDuration;
    private readonly Histogram<double> _segmentDrift;
    private readonly ConcurrentDictionary<(string Experiment, long Seed), (double Share, string Method, DateTime? ExpiresUtc)> _highDriftShare = new();
    private readonly ConcurrentDictionary<(string Experiment, long Seed, double Sigma), (double Sharpness, DateTime? ExpiresUtc)> _sharpness = new();
    private readonly ConcurrentDictionary<(string Experiment, long Seed, int Rank, string Method), LatestStep> _latest = new();

    /// <summary>The latest reported step of one rank of a run: what the gauges show while it trains.</summary>
    private sealed record LatestStep(StepFigures Figures, double UnixSeconds)
    {
        public double Progress => Figures.TotalSteps > 0 ? (double)Figures.StepsDone / Figures.TotalSteps : 0;
    }

    public TrainingMeter(IMeterFactory meters, ILocalSiloDetails silo)
    {
        _node = silo.Name;
        _meter = meters.Create(Name);
        _tokens = _meter.CreateCounter<long>("flatlora.training.tokens", "{token}", "Input tokens processed");
        _samples = _meter.CreateCounter<long>("flatlora.training.samples", "{sample}", "Training examples processed");
        _steps = _meter.CreateCounter<long>("flatlora.training.steps", "{step}", "Optimizer steps finished");
        _nonFiniteLosses = _meter.CreateCounter<long>("flatlora.training.nonfinite_losses", "{run}",
            "Runs stopped because their loss or gradient norm became NaN or infinite");
        _stepDuration = _meter.CreateHistogram<double>("flatlora.training.step.duration", "s", "Optimizer step wall time",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _exchangeBytes = _meter.CreateCounter<long>("flatlora.allreduce.bytes", "By", "LoRA gradient bytes sent to the ring neighbour");
        _exchangeDuration = _meter.CreateHistogram<double>("flatlora.allreduce.duration", "s", "Gradient all-reduce wall time per step",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        _checkpointDuration = _meter.CreateHistogram<double>("flatlora.checkpoint.duration", "s", "Time to write one checkpoint",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });
        // Drift is a divergence in nats; a segment's drift is recorded once per evaluation, labelled per run, never per sample.
        _segmentDrift = _meter.CreateHistogram<double>("flatlora.robustness.segment_drift", "{nat}", "S2R2 segment drift at evaluations",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        _meter.CreateObservableGauge("flatlora.robustness.high_drift_share", ObserveHighDriftShare,
            "1", "Share of segments above robustness.high_drift at the latest evaluation");
        // One series per run and σ (experiment, seed and sigma only): a flatness result, not a per-node figure.
        _meter.CreateObservableGauge("flatlora.flatness.sharpness", ObserveSharpness, null,
            "Expected sharpness E[L(W'+ε)] − L(W') of the final weights under Flat-LoRA's noise at σ (evaluation.flatness)");
        // Per-run gauges exist while the run trains on this node: their absence means no run, not a zero.
        _meter.CreateObservableGauge("flatlora.training.loss", () => Observe(v => v.Figures.Loss), null, "Latest training loss (nats per target token)");
        _meter.CreateObservableGauge("flatlora.training.learning_rate", () => Observe(v => v.Figures.LearningRate), null, "Learning rate of the latest step");
        _meter.CreateObservableGauge("flatlora.flat.sigma", () => Observe(v => v.Figures.Sigma), null, "Flat-LoRA noise scale σ_t of the latest step (0 for LoRA)");
        _meter.CreateObservableGauge("flatlora.training.grad_norm", () => Observe(v => v.Figures.GradNorm), null, "LoRA gradient norm before clipping");
        _meter.CreateObservableGauge("flatlora.training.throughput", () => Observe(v => v.Figures.TokensPerSecond), "{token}/s", "Tokens per second of the latest step");
        _meter.CreateObservableGauge("flatlora.training.eta", () => Observe(v => v.Figures.EtaSeconds), "s", "Estimated time to the run's last step");
        _meter.CreateObservableGauge("flatlora.training.progress", () => Observe(v => v.Progress), "1", "Steps done over total steps");
        _meter.CreateObservableGauge("flatlora.training.last_step.time", () => Observe(v => v.UnixSeconds), "s",
            "Unix time of the latest reported step: a stalled run stops moving it");
    }

    public void Record(ShardJob job, ProgressEvent progress, long stepsSinceLastReport)
    {
        switch (progress.Kind)
        {
            case ProgressKind.Eval:
                RecordDrift(job, progress);
                RecordSharpness(job, progress);
                break;
            case ProgressKind.Step when progress.Figures is { } figures:
                RecordStep(job, figures, progress.TimestampUtc, Math.Max(1, stepsSinceLastReport));
                break;
            case ProgressKind.Message when progress.CheckpointSeconds > 0:
                _checkpointDuration.Record(progress.CheckpointSeconds, RunTags(job));
                break;
        }
    }

    private void RecordStep(ShardJob job, StepFigures step, DateTime timestampUtc, long steps)
    {
        TagList tags = RunTags(job);
        if (!_latest.ContainsKey(RunKey(job)))
            _nonFiniteLosses.Add(0, tags);   // the series exists from the start, so increase() sees a divergence
        // Steps between two reports are counted at the reported step's size: every step of a run has the same batch.
        _tokens.Add(step.Tokens * steps, tags);
        _samples.Add(step.Samples * steps, tags);
        _steps.Add(steps, tags);
        _stepDuration.Record(step.StepSeconds, tags);
        if (step.ExchangeBytes > 0)
        {
            _exchangeBytes.Add(step.ExchangeBytes * steps, tags);
            _exchangeDuration.Record(step.ExchangeSeconds, tags);
        }
        _latest[RunKey(job)] = new LatestStep(step, new DateTimeOffset(timestampUtc).ToUnixTimeMilliseconds() / 1000.0);
    }

    private void RecordSharpness(ShardJob job, ProgressEvent progress)
    {
        foreach ((string metric, double sharpness) in progress.EvalSharpness)
        {
            if (FlatnessMetrics.Sigma(metric) is double sigma)
                _sharpness[(job.ExperimentId, job.Seed, sigma)] = (sharpness, null);
        }
    }

    private IEnumerable<Measurement<double>> ObserveSharpness()
    {
        foreach (var entry in _sharpness)
        {
            if (entry.Value.ExpiresUtc is DateTime expires && expires < DateTime.UtcNow)
            {
                _sharpness.TryRemove(entry.Key, out _);
                continue;
            }
            yield return new Measurement<double>(entry.Value.Sharpness, new TagList
            {
                { "experiment", entry.Key.Experiment }, { "seed", entry.Key.Seed }, { "sigma", entry.Key.Sigma.ToString("R", System.Globalization.CultureInfo.InvariantCulture) },
            });
        }
    }

    private void RecordDrift(ShardJob job, ProgressEvent progress)
    {
        if (progress.SegmentDrifts.Length == 0)
            return;
        var tags = new TagList { { "experiment", job.ExperimentId }, { "seed", job.Seed }, { "method", job.Spec.Method.Name }, { "node", _node } };
        foreach (double drift in progress.SegmentDrifts)
            _segmentDrift.Record(drift, tags);
        _highDriftShare[(job.ExperimentId, job.Seed)] = (progress.EvalHighDriftShare, job.Spec.Method.Name, null);
    }

    /// <summary>A rank's run ended here: counts a divergence, and stops reporting the run's gauges.</summary>
    public void Finished(ShardJob job, ShardOutcome outcome)
    {
        if (outcome.NonFiniteLoss)
            _nonFiniteLosses.Add(1, RunTags(job));
        _latest.TryRemove(RunKey(job), out _);
        if (_highDriftShare.TryGetValue((job.ExperimentId, job.Seed), out var drift))
            _highDriftShare[(job.ExperimentId, job.Seed)] = drift with { ExpiresUtc = DateTime.UtcNow + FinishedRunGrace };
        foreach (var key in _sharpness.Keys.Where(k => k.Experiment == job.ExperimentId && k.Seed == job.Seed))
            _sharpness[key] = _sharpness[key] with { ExpiresUtc = DateTime.UtcNow + FinishedRunGrace };
    }

    private static (string Experiment, long Seed, int Rank, string Method) RunKey(ShardJob job) =>
        (job.ExperimentId, job.Seed, job.Rank, job.Spec.Method.Name);

    private TagList RunTags(ShardJob job) => RunTags(RunKey(job));

    private TagList RunTags((string Experiment, long Seed, int Rank, string Method) run) => new()
    {
        { "experiment", run.Experiment }, { "seed", run.Seed }, { "rank", run.Rank }, { "method", run.Method }, { "node", _node },
    };

    private IEnumerable<Measurement<double>> ObserveHighDriftShare()
    {
        foreach (var entry in _highDriftShare)
        {
            if (entry.Value.ExpiresUtc is DateTime expires && expires < DateTime.UtcNow)
            {
                _highDriftShare.TryRemove(entry.Key, out _);
                continue;
            }
            yield return new Measurement<double>(entry.Value.Share, new TagList
            {
                { "experiment", entry.Key.Experiment }, { "seed", entry.Key.Seed }, { "method", entry.Value.Method }, { "node", _node },
            });
        }
    }

    private IEnumerable<Measurement<double>> Observe(Func<LatestStep, double> pick) =>
        _latest.Select(p => new Measurement<double>(pick(p.Value), RunTags(p.Key)));

    public void Dispose() => _meter.Dispose();
}
