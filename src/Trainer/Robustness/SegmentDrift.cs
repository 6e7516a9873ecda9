using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Robustness;

/// <summary>
/// Teacher-forced segment drift: for every response token both encodings share, the divergence between the clean
/// and the perturbed next-token distributions; a segment's drift is the mean over its tokens, in nats. The clean
/// distribution is held fixed (no gradient): the regularizer pulls the perturbed prediction toward the clean one,
/// never the clean prediction toward the noise.
/// </summary>
public static class SegmentDrift
{
    /// <param name="cleanLogits">(B, T, V) for the pairs' clean encodings, in pair order.</param>
    /// <param name="perturbedLogits">(B, T′, V) for their perturbed encodings.</param>
    /// <returns>Drift per segment that has at least one shared token, and the index of the pair each belongs to.</returns>
    public static (Tensor Drift, int[] Owner, int[] SegmentIndex) Compute(Tensor cleanLogits, Tensor perturbedLogits,
        IReadOnlyList<TeacherForcedPair> pairs, string divergence)
    {
        long vocab = cleanLogits.shape[^1], cleanTime = cleanLogits.shape[1], perturbedTime = perturbedLogits.shape[1];
        var cleanRows = new List<long>();
        var perturbedRows = new List<long>();
        var segmentOfToken = new List<long>();
        var owner = new List<int>();
        var segmentIndex = new List<int>();
        for (int b = 0; b < pairs.Count; b++)
        {
            TeacherForcedPair pair = pairs[b];
            var compact = new Dictionary<int, int>();
            for (int k = 0; k < pair.CleanPositions.Length; k++)
            {
                if (!compact.TryGetValue(pair.Segment[k], out int id))
                {
                    id = owner.Count;
                    compact[pair.Segment[k]] = id;
                    owner.Add(b);
                    segmentIndex.Add(pair.Segment[k]);
                }
                cleanRows.Add(b * cleanTime + pair.CleanPositions[k]);
                perturbedRows.Add(b * perturbedTime + pair.PerturbedPositions[k]);
                segmentOfToken.Add(id);
            }
        }
        if (owner.Count == 0)
            return (zeros(0, device: cleanLogits.device), [], []);

        using var scope = NewDisposeScope();
        Device device = cleanLogits.device;
        Tensor clean = cleanLogits.reshape(-1, vocab).index_select(0, tensor(cleanRows.ToArray(), device: device)).detach().to(float32);
        Tensor perturbed = perturbedLogits.reshape(-1, vocab).index_select(0, tensor(perturbedRows.ToArray(), device: device)).to(float32);
        Tensor logClean = F.log_softmax(clean, -1), logPerturbed = F.log_softmax(perturbed, -1);
        Tensor perToken = divergence switch
        {
            "kl" => (logClean.exp() * (logClean - logPerturbed)).sum(-1),
            "js" => JensenShannon(logClean, logPerturbed),
            _ => throw new ArgumentException($"unknown divergence '{divergence}' (kl or js)", nameof(divergence)),
        };
        Tensor segments = tensor(segmentOfToken.ToArray(), device: device);
        Tensor sums = zeros(owner.Count, device: device).index_add(0, segments, perToken, 1);
        Tensor counts = zeros(owner.Count, device: device).index_add(0, segments, ones_like(perToken), 1);
        return ((sums / counts).MoveToOuterDisposeScope(), [.. owner], [.. segmentIndex]);
    }

    // JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q); bounded by ln 2.
    private static Tensor JensenShannon(Tensor logP, Tensor logQ)
    {
        Tensor logM = (stack([logP, logQ]).logsumexp(0) - Math.Log(2));
        return 0.5 * ((logP.exp() * (logP - logM)).sum(-1) + (logQ.exp() * (logQ - logM)).sum(-1));
    }
}
