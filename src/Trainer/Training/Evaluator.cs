using FlatLora.Trainer.Data;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>
/// Held-out loss and accuracy. Exact match counts examples whose every response token is the argmax under teacher
/// forcing, which is exactly when greedy decoding would reproduce the reference response.
/// </summary>
public static class Evaluator
{
    public static EvalReport Evaluate(LlamaForCausalLM model, IReadOnlyList<EncodedExample> examples, int padId, int microBatch, long step,
        CancellationToken cancellationToken = default)
    {
        if (examples.Count == 0)
            return new EvalReport(step, double.NaN, double.NaN, double.NaN, 0);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double lossSum = 0;
            long tokens = 0, correctTokens = 0;
            int exact = 0;
            for (int start = 0; start < examples.Count; start += microBatch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var batch = examples.Skip(start).Take(microBatch).ToList();
                (Tensor ids, Tensor targets) = BatchCollator.Collate(batch, padId, model.Device);
                Tensor logits = model.forward(ids);                                       // (B, T, V)
                lossSum += CausalLmLoss.Sum(logits, targets).item<float>();
                Tensor mask = targets.ne(ExampleEncoder.Ignore);                          // (B, T)
                Tensor hits = logits.argmax(-1).eq(targets).logical_and(mask);            // (B, T)
                tokens += mask.sum().item<long>();
                correctTokens += hits.sum().item<long>();
                Tensor perExampleMisses = mask.logical_and(hits.logical_not()).sum(1);    // (B)
                exact += (int)perExampleMisses.eq(0).sum().item<long>();
            }
            return new EvalReport(step, lossSum / Math.Max(1, tokens), (double)correctTokens / Math.Max(1, tokens),
                (double)exact / examples.Count, examples.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
