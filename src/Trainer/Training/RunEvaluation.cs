using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Flatness;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness;

namespace FlatLora.Trainer.Training;

/// <summary>
/// One evaluation of a run's current weights, as its spec asks: loss and accuracy on the held-out examples, S2R2's
/// segment drift when robustness.eval_examples is set, and (the final evaluation) evaluation.flatness.
/// </summary>
internal static class RunEvaluation
{
    public static EvalReport Measure(LlamaForCausalLM model, IReadOnlyList<EncodedExample> eval, TrainSpec spec, BaseModel baseModel, long step,
        ITrainingObserver observer, bool withFlatness, CancellationToken cancellationToken)
    {
        EvalReport report = Evaluator.Evaluate(model, eval, baseModel.Tokenizer.PadId, spec.Training.MicroBatchSize, step, cancellationToken);
        if (spec.Robustness.EvalExamples > 0)
        {
            report = report with
            {
                Drift = DriftProbe.Measure(model, eval, spec.Robustness, baseModel.Tokenizer, spec.Data.MaxSeqLen, spec.Seed, spec.Training.MicroBatchSize),
            };
        }
        if (withFlatness && spec.Evaluation.Flatness is { Enabled: true } flatness)
        {
            observer.OnInfo($"Flatness: expected sharpness at σ = {string.Join(", ", flatness.Sigma)} over {flatness.Samples} noise samples...");
            report = report with
            {
                Flatness = SharpnessProbe.Measure("flatness", null, model, eval, baseModel.Tokenizer.PadId, spec.Training.MicroBatchSize,
                    FlatnessSettings.From(flatness), observer.OnInfo, cancellationToken),
            };
        }
        return report;
    }
}
