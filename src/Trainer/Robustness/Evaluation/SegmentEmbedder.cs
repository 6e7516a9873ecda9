using FlatLora.Trainer.Data;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>
/// Segment embeddings: the mean of a model's last hidden states over the segment's tokens (the evaluated model by
/// default, or another model given by path). Segments are batched with right padding; causal attention means the
/// padding never changes the real positions, and the mean skips it.
/// </summary>
public sealed class SegmentEmbedder(LlamaForCausalLM model, ITokenizer tokenizer, int batchSize = 16)
{
    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var result = new float[texts.Count][];
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int start = 0; start < texts.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var ids = texts.Skip(start).Take(batchSize)
                    .Select(t => ExampleEncoder.Tokens([new TextSegment(t, false)], tokenizer, closeWithEos: false).Tokens.ToArray())
                    .ToList();
                int time = ids.Max(i => i.Length);
                var flat = new long[ids.Count * time];
                var mask = new float[ids.Count * time];
                Array.Fill(flat, tokenizer.PadId);
                for (int b = 0; b < ids.Count; b++)
                {
                    for (int t = 0; t < ids[b].Length; t++)
                    {
                        flat[b * time + t] = ids[b][t];
                        mask[b * time + t] = 1;
                    }
                }
                Tensor hidden = model.Decoder.forward(tensor(flat, [ids.Count, time], device: model.Device)).to(float32);   // (B, T, C)
                Tensor weights = tensor(mask, [ids.Count, time, 1], device: model.Device);
                Tensor mean = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1);
                float[] values = mean.cpu().data<float>().ToArray();
                int width = (int)mean.shape[1];
                for (int b = 0; b < ids.Count; b++)
                    result[start + b] = values.AsSpan(b * width, width).ToArray();
            }
            return result;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
