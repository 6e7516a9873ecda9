using static TorchSharp.torch;

namespace FlatLora.Trainer.Data;

/// <summary>Pads a micro-batch on the right into (B, T) id and target tensors; padding carries no loss.</summary>
public static class BatchCollator
{
    public static (Tensor InputIds, Tensor Targets) Collate(IReadOnlyList<EncodedExample> examples, int padId, Device device)
    {
        int batch = examples.Count;
        int time = examples.Max(e => e.InputIds.Length);
        var ids = new long[batch * time];
        var targets = new long[batch * time];
        Array.Fill(ids, padId);
        Array.Fill(targets, ExampleEncoder.Ignore);
        for (int b = 0; b < batch; b++)
        {
            EncodedExample e = examples[b];
            for (int t = 0; t < e.InputIds.Length; t++)
            {
                ids[b * time + t] = e.InputIds[t];
                targets[b * time + t] = e.Targets[t];
            }
        }
        return (tensor(ids, [batch, time], device: device), tensor(targets, [batch, time], device: device));
    }
}
