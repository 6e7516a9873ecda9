using FlatLora.Trainer.Model;

namespace FlatLora.Benchmarks.Training;

/// <summary>What one data-parallel step sends: LoRA gradients only, against what full fine-tuning would send.</summary>
public sealed record GradientVolume(long LoraParameters, long FullParameters)
{
    /// <summary>Gradients are exchanged in fp32; a ring all-reduce sends 2(W−1)/W of them per rank.</summary>
    public static long BytesPerRank(long parameters, int worldSize) => 2L * (worldSize - 1) * parameters * sizeof(float) / worldSize;

    public static GradientVolume For(LlamaConfig config, int rank, IReadOnlyCollection<string> targets)
    {
        int hidden = config.HiddenSize, inter = config.IntermediateSize;
        int q = config.NumAttentionHeads * config.HeadDim, kv = config.KeyValueHeads * config.HeadDim;
        // (in, out) of every linear of one decoder layer, by module name.
        var linears = new Dictionary<string, (long In, long Out)>
        {
            ["q_proj"] = (hidden, q),
            ["k_proj"] = (hidden, kv),
            ["v_proj"] = (hidden, kv),
            ["o_proj"] = (q, hidden),
            ["gate_proj"] = (hidden, inter),
            ["up_proj"] = (hidden, inter),
            ["down_proj"] = (inter, hidden),
        };
        foreach (string target in targets)
        {
            if (!linears.ContainsKey(target))
                throw new ArgumentException($"--targets: '{target}' is not a linear of a Llama layer (known: {string.Join(", ", linears.Keys)})");
        }
        long loraPerLayer = targets.Distinct().Sum(t => (long)rank * (linears[t].In + linears[t].Out));
        long linearPerLayer = linears.Values.Sum(l => l.In * l.Out);
        long normsPerLayer = 2L * hidden;
        long embeddings = (long)config.VocabSize * hidden;
        long full = embeddings + config.NumHiddenLayers * (linearPerLayer + normsPerLayer) + hidden + (config.TieWordEmbeddings ? 0 : embeddings);
        return new GradientVolume(loraPerLayer * config.NumHiddenLayers, full);
    }
}
