using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Spec.Reporting;

namespace FlatLora.Trainer.Training;

/// <summary>Appends one JSON object per line to <c>metrics.jsonl</c>, flushed per line so a crash loses nothing written.</summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    public MetricsLog(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
        FilePath = path;
    }

    public string FilePath { get; }

    public void Write(JsonObject record) => _writer.WriteLine(record.ToJsonString(JsonOptions));

    public void WriteStep(StepReport report)
    {
        StepFigures r = report.Figures;
        var record = new JsonObject
        {
            ["kind"] = "step",
            ["step"] = r.Step,
            ["loss"] = Finite(r.Loss),
            ["lr"] = r.LearningRate,
            ["sigma"] = r.Sigma,
            ["grad_norm"] = Finite(r.GradNorm),
            ["tokens"] = r.Tokens,
            ["step_seconds"] = Math.Round(r.StepSeconds, 6),
            ["tokens_per_second"] = Math.Round(r.TokensPerSecond, 1),
            ["perturbation_hash"] = report.ConsistencyHash.ToString("x16"),
        };
        if (r.DriftPenalty is double drift)
            record["drift_penalty"] = Finite(drift);
        if (r.NormPenalty is double norm)
            record["norm_penalty"] = Finite(norm);
        if (r.ExchangeBytes > 0)
        {
            record["allreduce_bytes"] = r.ExchangeBytes;
            record["allreduce_seconds"] = Math.Round(r.ExchangeSeconds, 6);
        }
        Write(record);
    }

    public void WriteEval(EvalReport r)
    {
        var record = new JsonObject
        {
            ["kind"] = "eval",
            ["step"] = r.Step,
            ["eval_loss"] = Finite(r.Loss),
            ["eval_token_accuracy"] = Finite(r.TokenAccuracy),
            ["eval_exact_match"] = Finite(r.ExactMatch),
            ["eval_examples"] = r.Examples,
        };
        if (r.Drift is { } drift)
        {
            record["segment_drift_mean"] = Finite(drift.Overall.Mean);
            record["segment_drift_p95"] = Finite(drift.Overall.P95);
            record["segment_drift_max"] = Finite(drift.Overall.Max);
            record["high_drift_share"] = Finite(drift.Overall.HighDriftShare);
            record["segment_drift_by_perturbation"] = new JsonObject(drift.PerPerturbation.Select(p =>
                KeyValuePair.Create(p.Perturbation, (JsonNode?)Finite(p.Mean))));
        }
        if (r.Flatness is { } flatness)
        {
            foreach (var e in flatness.Sharpness)
            {
                record[e.MetricName] = Finite(e.Mean);
                record[e.MetricName + "_ci"] = new JsonArray(Finite(e.Low), Finite(e.High));
            }
        }
        Write(record);
    }

    // JSON has no NaN: write null instead, so every line stays parseable.
    private static JsonValue? Finite(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public void Dispose() => _writer.Dispose();
}
