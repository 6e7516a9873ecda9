using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Model;

namespace FlatLora.Trainer.Tasks;

/// <summary>
/// The built-in task, generated in code (no download). A tiny base model is first pretrained to copy and uppercase
/// short words ("copy: kfod => kfod"); the fine-tuning task then shifts every letter by one ("shift: kfod => lgpe"),
/// a mapping the base model has never seen. The datasets do not depend on the run seed, so seeds differ only in
/// LoRA init, data order and noise.
/// </summary>
public static class TinyShiftTask
{
    public const string Name = "tiny-shift";
    private const string Alphabet = "abcdefghijklmnop";   // 16 letters: small enough for a rank-8 adapter to learn
    private const long DataSeed = 20250717;

    /// <summary>The tiny base model: 2 layers, grouped-query attention, byte vocabulary.</summary>
    public static LlamaConfig ModelConfig { get; } = new()
    {
        VocabSize = 264,            // 256 bytes + bos/eos/pad, rounded up to a multiple of 8
        HiddenSize = 96,
        IntermediateSize = 256,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,       // exercises grouped-query attention
        MaxPositionEmbeddings = 128,
        RmsNormEps = 1e-5,
        RopeTheta = 10000,
        BosTokenId = ByteTokenizer.Bos,
        PadTokenId = ByteTokenizer.Pad,
        EosTokenIdRaw = System.Text.Json.JsonSerializer.SerializeToElement(ByteTokenizer.Eos),
    };

    /// <summary>Copy and uppercase examples, loss on every token (plain language-model pretraining).</summary>
    public static IReadOnlyList<TrainingExample> PretrainingCorpus(int count)
    {
        var random = new SplitMix64(DataSeed);
        var corpus = new List<TrainingExample>(count);
        for (int i = 0; i < count; i++)
        {
            string word = Word(ref random);
            string text = i % 2 == 0 ? $"copy: {word} => {word}\n" : $"upper: {word} => {word.ToUpperInvariant()}\n";
            corpus.Add(new TrainingExample([new TextSegment(text, true)], $"{Name}:pretrain:{i}"));
        }
        return corpus;
    }

    /// <summary>The shifted task: prompt "shift: word => ", response the word with each letter moved one on.</summary>
    public static (IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> Eval) FineTuning(int trainCount = 1024, int evalCount = 128)
    {
        var random = new SplitMix64(DataSeed + 1);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var all = new List<TrainingExample>(trainCount + evalCount);
        while (all.Count < trainCount + evalCount)
        {
            string word = Word(ref random);
            if (!seen.Add(word))
                continue;
            string shifted = new(word.Select(c => Alphabet[(Alphabet.IndexOf(c, StringComparison.Ordinal) + 1) % Alphabet.Length]).ToArray());
            all.Add(TrainingExample.PromptResponse($"shift: {word} => ", shifted + "\n", $"{Name}:{all.Count}"));
        }
        return (all.Take(trainCount).ToList(), all.Skip(trainCount).ToList());
    }

    private static string Word(ref SplitMix64 random)
    {
        int length = 3 + random.NextInt(4);
        var letters = new char[length];
        for (int i = 0; i < length; i++)
            letters[i] = Alphabet[random.NextInt(Alphabet.Length)];
        return new string(letters);
    }
}
