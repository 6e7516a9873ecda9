using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Telemetry;

/// <summary>
/// The "FlatLora.Training" meter: throughput, step time and loss of the runs on this silo's devices. Labels are
/// low-cardinality (experiment, seed, rank); never per step or per example.
/// </summary>
public sealed class TrainingMeter : IDisposable
{
    public const string Name = "FlatLora.Training";

    private readonly Meter _meter;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _steps;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _exchangeBytes;
    private readonly Histogram<double> _exchangeDuration;
    private readonly Histogram<double> _segmentDrift;
    // Kept a while after a run ends, so a scrape after its final evaluation still sees the value.
    private static readonly TimeSpan FinishedRunGrace = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<(string Experiment, long Seed), (double Share, DateTime? ExpiresUtc)> _highDriftShare = new();
    private readonly ConcurrentDictionary<(string Experiment, long Seed, int Rank), (double Loss, double TokensPerSecond)> _latest = new();

    public TrainingMeter(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _tokens = _meter.CreateCounter<long>("flatlora.training.tokens", "{token}", "Input tokens processed");
        _steps = _meter.CreateCounter<long>("flatlora.training.steps", "{step}", "Optimizer steps reported");
        _stepDuration = _meter.CreateHistogram<double>("flatlora.training.step.duration", "s", "Optimizer step wall time");
        _exchangeBytes = _meter.CreateCounter<long>("flatlora.allreduce.bytes", "By", "LoRA gradient bytes sent to the ring neighbour");
        _exchangeDuration = _meter.CreateHistogram<double>("flatlora.allreduce.duration", "s", "Gradient all-reduce wall time per step");
        // Drift is a divergence in nats; a segment's drift is recorded once per evaluation, labelled per run, never per sample.
        _segmentDrift = _meter.CreateHistogram<double>("flatlora.robustness.segment_drift", "{nat}", "S2R2 segment drift at evaluations",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });
        _meter.CreateObservableGauge("flatlora.robustness.high_drift_share", ObserveHighDriftShare,
            "1", "Share of segments above robustness.high_drift at the latest evaluation");
        _meter.CreateObservableGauge("flatlora.training.loss", () => Observe(v => v.Loss), "1", "Latest training loss");
        _meter.CreateObservableGauge("flatlora.training.throughput", () => Observe(v => v.TokensPerSecond), "{token}/s", "Latest tokens per second");
    }

    public void Record(ProgressEvent progress, long stepsSinceLastReport)
    {
        if (progress.Kind == ProgressKind.Eval)
        {
            RecordDrift(progress);
            return;
        }
        if (progress.Kind != ProgressKind.Step)
            return;
        var tags = new System.Diagnostics.TagList { { "experiment", progress.ExperimentId }, { "seed", progress.Seed }, { "rank", progress.Rank } };
        _tokens.Add(progress.Tokens * Math.Max(1, stepsSinceLastReport), tags);
        _steps.Add(Math.Max(1, stepsSinceLastReport), tags);
        _stepDuration.Record(progress.StepSeconds, tags);
        if (progress.ExchangeBytes > 0)
        {
            // Every step of a run sends the same bytes: the steps between two reports are counted at the reported size.
            _exchangeBytes.Add(progress.ExchangeBytes * Math.Max(1, stepsSinceLastReport), tags);
            _exchangeDuration.Record(progress.ExchangeSeconds, tags);
        }
        _latest[(progress.ExperimentId, progress.Seed, progress.Rank)] = (progress.Loss, progress.TokensPerSecond);
    }

    private void RecordDrift(ProgressEvent progress)
    {
        if (progress.SegmentDrifts.Length == 0)
            return;
        var tags = new System.Diagnostics.TagList { { "experiment", progress.ExperimentId }, { "seed", progress.Seed } };
        foreach (double drift in progress.SegmentDrifts)
            _segmentDrift.Record(drift, tags);
        _highDriftShare[(progress.ExperimentId, progress.Seed)] = (progress.EvalHighDriftShare, null);
    }

    private IEnumerable<Measurement<double>> ObserveHighDriftShare()
    {
        foreach (var entry in _highDriftShare)
        {
            if (entry.Value.ExpiresUtc is DateTime expires && expires < DateTime.UtcNow)
            {
                _highDriftShare.TryRemove(entry.Key, out _);
                continue;
            }
            yield return new Measurement<double>(entry.Value.Share,
                new KeyValuePair<string, object?>("experiment", entry.Key.Experiment), new KeyValuePair<string, object?>("seed", entry.Key.Seed));
        }
    }

    /// <summary>Stops reporting a run's gauges once it ends.</summary>
    public void Forget(string experiment, long seed, int rank)
    {
        _latest.TryRemove((experiment, seed, rank), out _);
        if (_highDriftShare.TryGetValue((experiment, seed), out var drift))
            _highDriftShare[(experiment, seed)] = drift with { ExpiresUtc = DateTime.UtcNow + FinishedRunGrace };
    }

    private IEnumerable<Measurement<double>> Observe(Func<(double Loss, double TokensPerSecond), double> pick) =>
        _latest.Select(p => new Measurement<double>(pick(p.Value),
            new KeyValuePair<string, object?>("experiment", p.Key.Experiment),
            new KeyValuePair<string, object?>("seed", p.Key.Seed),
            new KeyValuePair<string, object?>("rank", p.Key.Rank)));

    public void Dispose() => _meter.Dispose();
}
