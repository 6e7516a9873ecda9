using System.Text.Json;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tasks;

namespace FlatLora.Benchmarks.Training;

/// <summary>Model shapes for benchmarks: the built-in tiny model and the published Llama shapes (random weights).</summary>
public static class BenchShapes
{
    public static readonly string[] Names = ["tiny", "1b", "7b", "13b"];

    public static LlamaConfig Get(string name) => name switch
    {
        "tiny" => TinyShiftTask.ModelConfig,
        // Llama 3.2 1B.
        "1b" => Llama(hidden: 2048, intermediate: 8192, layers: 16, heads: 32, kvHeads: 8, vocab: 128256, tie: true, theta: 500000),
        // Llama 2 7B and 13B.
        "7b" => Llama(hidden: 4096, intermediate: 11008, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, tie: false, theta: 10000),
        "13b" => Llama(hidden: 5120, intermediate: 13824, layers: 40, heads: 40, kvHeads: 40, vocab: 32000, tie: false, theta: 10000),
        _ => throw new ArgumentException($"--shape: unknown shape '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
    };

    private static LlamaConfig Llama(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, bool tie, double theta) => new()
    {
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        VocabSize = vocab,
        TieWordEmbeddings = tie,
        RopeTheta = theta,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 4096,
        EosTokenIdRaw = JsonSerializer.SerializeToElement(2),
    };
}
