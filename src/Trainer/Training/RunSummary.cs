using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Spec;
using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Training;

/// <summary>Writes <c>summary.json</c>: the run's setup and outcome in one small file.</summary>
public static class RunSummary
{
    public static void Write(string path, TrainSpec spec, RunPlan plan, TrainResult result, TrainingData data)
    {
        static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        var summary = new JsonObject
        {
            ["method"] = spec.Method.Name,
            ["rho"] = spec.Method.IsFlat ? spec.Method.Rho : 0,
            ["seed"] = spec.Seed,
            ["lora_rank"] = spec.Lora.Rank,
            ["lora_alpha"] = spec.Lora.Alpha,
            ["steps"] = result.Steps,
            ["total_steps"] = plan.TotalSteps,
            ["world_size"] = plan.WorldSize,
            ["train_examples"] = data.Train.Count,
            ["eval_examples"] = data.Eval.Count,
            ["truncated_examples"] = data.TruncatedCount,
            ["initial_loss"] = Number(result.InitialLoss),
            ["final_loss"] = Number(result.FinalLoss),
            ["eval_loss"] = result.FinalEval is null ? null : Number(result.FinalEval.Loss),
            ["eval_token_accuracy"] = result.FinalEval is null ? null : Number(result.FinalEval.TokenAccuracy),
            ["eval_exact_match"] = result.FinalEval is null ? null : Number(result.FinalEval.ExactMatch),
            ["eval_segment_drift"] = result.FinalEval?.Drift is { } drift ? Number(drift.Overall.Mean) : null,
            ["eval_high_drift_share"] = result.FinalEval?.Drift is { } share ? Number(share.Overall.HighDriftShare) : null,
            ["tokens_per_second"] = Number(result.TokensPerSecond),
            ["elapsed_seconds"] = Number(result.ElapsedSeconds),
            ["frozen_weights_unchanged"] = result.FrozenWeightsUnchanged,
            ["adapter_dir"] = result.AdapterDirectory,
        };
        File.WriteAllText(path, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
