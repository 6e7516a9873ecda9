using FlatLora.Trainer.Data;
using FlatLora.Trainer.Distributed;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Methods;
using FlatLora.Trainer.Robustness;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>
/// Forward and backward of one rank's share of one optimizer step: every micro-batch under the same method step state
/// (Flat-LoRA: one ε), gradients accumulated in the LoRA parameters. The cross-entropy is normalised by the global
/// batch's target tokens; with S2R2, a perturbed copy of each micro-batch adds the drift penalty (normalised by the
/// global batch's examples), and the first micro-batch of rank 0 adds the adapter-norm term once per step.
/// </summary>
internal sealed class RankGradientPass(RunComponents parts, TrainingData data, int padId, Device device, RunPlan plan)
{
    /// <param name="Exchange">The step's exchange, already under way (overlapped with the last backward); null when it runs after.</param>
    public readonly record struct Result(StepSums Sums, long Tokens, double Sigma, ulong ConsistencyHash, IOverlappedExchange? Exchange);

    /// <param name="beginExchange">Starts the step's exchange given its consistency hash, before the last micro-batch's
    /// backward, which then tells it layer by layer what is final; it may return null (no overlap).</param>
    public Result Run(long step, int[] share, long targetTokens, int batchExamples, CancellationToken cancellationToken,
        Func<ulong, IOverlappedExchange?>? beginExchange = null)
    {
        ITrainingMethod method = parts.Method;
        var sums = new StepSums();
        long tokens = 0;
        bool complete = false;
        IOverlappedExchange? exchange = null;
        try
        {
            double sigma = method.BeginStep(step);
            // ε is fixed from here on, so its hash is too.
            ulong consistency = method.ConsistencyHash(step);
            List<int[]> microBatches = [.. DataOrder.MicroBatches(share, plan.MicroBatch)];
            exchange = beginExchange?.Invoke(consistency);
            for (int micro = 0; micro < microBatches.Count; micro++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Only the last backward leaves final gradients: it alone reports layers as they finish.
                bool last = micro == microBatches.Count - 1;
                parts.Model.Decoder.BackwardProgress = last ? exchange : null;
                (StepSums part, long partTokens) = MicroBatch(step, micro, microBatches[micro], targetTokens, batchExamples);
                sums.Add(part);
                tokens += partTokens;
            }
            complete = true;
            return new Result(sums, tokens, sigma, consistency, exchange);
        }
        finally
        {
            parts.Model.Decoder.BackwardProgress = null;
            method.EndStep();
            if (!complete)
            {
                exchange?.Dispose();
                parts.Optimizer.zero_grad();   // a half-done step leaves no gradients behind
            }
        }
    }

    private (StepSums Sums, long Tokens) MicroBatch(long step, int micro, int[] indices, long targetTokens, int batchExamples)
    {
        using var scope = NewDisposeScope();
        parts.Dropout.Position = new DropoutPosition(step, plan.Rank, micro, Pass: 0);
        DriftRegularizer robustness = parts.Robustness;
        var examples = indices.Select(i => data.Train[i]).ToList();
        (Tensor ids, Tensor targets) = BatchCollator.Collate(examples, padId, device);
        Tensor logits = parts.Model.forward(ids);
        Tensor crossEntropy = CausalLmLoss.Sum(logits, targets);
        Tensor objective = crossEntropy / targetTokens;
        var sums = new StepSums();
        if (robustness.PenalisesDrift)
        {
            List<TeacherForcedPair> pairs = robustness.Pairs(step, indices, examples);
            (Tensor perturbedIds, _) = BatchCollator.Collate(pairs.Select(p => p.Perturbed).ToList(), padId, device);
            parts.Dropout.Position = new DropoutPosition(step, plan.Rank, micro, Pass: 1);
            (Tensor drift, int[] owner, _) = SegmentDrift.Compute(logits, parts.Model.forward(perturbedIds), pairs, robustness.Divergence);
            Tensor penalty = robustness.Penalty(drift, owner, pairs.Count);
            objective = objective + robustness.Weight / batchExamples * penalty;
            sums.DriftPenalty = penalty.item<float>();
        }
        if (robustness.PenalisesNorm && micro == 0 && plan.Rank == 0)
        {
            Tensor normPenalty = DriftRegularizer.NormPenalty(LoraInjector.LoraLayers(parts.Model));
            objective = objective + robustness.NormWeight * normPenalty;
            sums.NormPenalty = normPenalty.item<float>();
        }
        objective.backward();
        parts.Method.ThrowIfBackwardFaulted();
        parts.CheckpointFaults.ThrowIfAny();
        sums.CrossEntropy = crossEntropy.item<float>();
        return (sums, examples.Sum(e => (long)e.InputIds.Length));
    }
}
