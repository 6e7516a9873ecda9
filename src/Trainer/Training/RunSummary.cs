using System.Text.Json;
using System.Text.Json.Nodes;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using FlatLora.Trainer.Data;

namespace FlatLora.Trainer.Training;

/// <summary>Writes <c>summary.json</c>: the run's setup and outcome in one small file.</summary>
public static class RunSummary
{
    public static void Write(string path, TrainSpec spec, RunPlan plan, RunMetrics metrics, TrainingData data)
    {
        static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        var summary = new JsonObject
        {
            ["method"] = spec.Method.Name,
            ["rho"] = spec.Method.IsFlat ? spec.Method.Rho : 0,
            ["seed"] = spec.Seed,
            ["lora_rank"] = spec.Lora.Rank,
            ["lora_alpha"] = spec.Lora.Alpha,
            ["steps"] = metrics.Steps,
            ["total_steps"] = plan.TotalSteps,
            ["world_size"] = plan.WorldSize,
            ["train_examples"] = data.Train.Count,
            ["eval_examples"] = data.Eval.Count,
            ["truncated_examples"] = data.TruncatedCount,
        };
        foreach (string name in metrics.AllNames)
            summary[name] = Number(metrics.Get(name));
        summary["frozen_weights_unchanged"] = metrics.FrozenWeightsUnchanged;
        summary["adapter_dir"] = metrics.AdapterDirectory;
        File.WriteAllText(path, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
