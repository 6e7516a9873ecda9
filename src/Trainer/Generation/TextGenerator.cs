using FlatLora.Trainer.Data;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Tokenization;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Generation;

/// <summary>
/// Batched generation with left padding: prompts are right-aligned, positions count only real tokens, and padding is
/// masked out of attention. With the key/value cache each step feeds one token per sequence.
/// </summary>
public sealed class TextGenerator(LlamaForCausalLM model, ITokenizer tokenizer)
{
    /// <summary>Continues each prompt (plain text, bos prepended where the model uses one).</summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, GenerationOptions options)
    {
        var promptIds = prompts.Select(p => ExampleEncoder.Tokens([new TextSegment(p, false)], tokenizer, closeWithEos: false).Tokens.ToArray()).ToList();
        return Generate(prompts, promptIds, options);
    }

    /// <summary>Continues chat conversations laid out by the tokenizer's chat template, with the assistant header added.</summary>
    public IReadOnlyList<GenerationResult> GenerateChat(IReadOnlyList<IReadOnlyList<ChatMessage>> conversations, GenerationOptions options)
    {
        var promptIds = conversations.Select(c => ExampleEncoder.Tokens(tokenizer.ChatTemplate.Render(c, addGenerationPrompt: true), tokenizer, closeWithEos: false).Tokens.ToArray()).ToList();
        return Generate(conversations.Select(c => c[^1].Content).ToList(), promptIds, options);
    }

    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<string> prompts, IReadOnlyList<int[]> promptIds, GenerationOptions options)
    {
        IReadOnlyList<IReadOnlyList<int>> generated = GenerateIds(promptIds, options, out string[] reasons);
        return prompts.Select((p, i) => new GenerationResult(p, promptIds[i], generated[i], tokenizer.Decode(generated[i]), reasons[i])).ToList();
    }

    public IReadOnlyList<IReadOnlyList<int>> GenerateIds(IReadOnlyList<int[]> promptIds, GenerationOptions options, out string[] finishReasons)
    {
        options.Validate();
        if (promptIds.Count == 0 || promptIds.Any(p => p.Length == 0))
            throw new ArgumentException("every prompt needs at least one token", nameof(promptIds));
        int batch = promptIds.Count;
        int promptLength = promptIds.Max(p => p.Length);
        int total = promptLength + options.MaxNewTokens;
        int context = model.Config.MaxPositionEmbeddings;
        if (total > context)
        {
            int longest = promptIds.ToList().FindIndex(p => p.Length == promptLength);
            throw new ArgumentException(promptLength >= context
                ? $"--prompt {longest + 1}: {promptLength} tokens, longer than the model's context of {context} (max_position_embeddings); shorten it"
                : $"--max-new-tokens: prompt {longest + 1} has {promptLength} tokens, so at most {context - promptLength} new tokens fit the model's context of {context} (max_position_embeddings)");
        }
        var tokens = new long[batch, total];
        var valid = new bool[batch, total];
        for (int b = 0; b < batch; b++)
        {
            int offset = promptLength - promptIds[b].Length;                 // left padding
            for (int t = 0; t < promptLength; t++)
            {
                tokens[b, t] = t < offset ? tokenizer.PadId : promptIds[b][t - offset];
                valid[b, t] = t >= offset;
            }
        }
        var stops = tokenizer.StopIds.ToHashSet();
        var outputs = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        finishReasons = Enumerable.Repeat("length", batch).ToArray();
        var finished = new bool[batch];
        using var sampler = options.Temperature > 0 ? new Generator(unchecked((ulong)options.Seed)) : null;

        bool wasTraining = model.training;
        model.eval();
        using var noGrad = no_grad();
        using var cache = options.UseCache ? new KeyValueCache(model.Config.NumHiddenLayers) : null;
        try
        {
            for (int length = promptLength; length < total; length++)
            {
                using var scope = NewDisposeScope();
                bool incremental = cache is not null && length > promptLength;
                int start = incremental ? length - 1 : 0;                     // first position fed this step
                Tensor logits = model.forward(Slice(tokens, start, length), Positions(valid, start, length),
                    Mask(valid, start, length), cache);                       // (B, T, V)
                Tensor last = logits[.., -1, ..].to(float32).cpu();           // (B, V)
                long[] next = Choose(last, options, sampler);
                for (int b = 0; b < batch; b++)
                {
                    tokens[b, length] = finished[b] ? tokenizer.PadId : next[b];
                    valid[b, length] = true;
                    if (finished[b])
                        continue;
                    if (stops.Contains((int)next[b]))
                    {
                        finished[b] = true;
                        finishReasons[b] = "stop";
                        continue;
                    }
                    outputs[b].Add((int)next[b]);
                }
                if (finished.All(f => f))
                    break;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return outputs;
    }

    private static long[] Choose(Tensor logits, GenerationOptions options, Generator? sampler)
    {
        if (options.Temperature == 0)
            return logits.argmax(-1).data<long>().ToArray();
        Tensor probabilities = (logits / options.Temperature).softmax(-1);             // (B, V)
        if (options.TopP < 1)
        {
            (Tensor sorted, Tensor order) = probabilities.sort(-1, descending: true);
            // Drop tokens once the mass before them already reaches top_p (the top token always stays).
            Tensor before = sorted.cumsum(-1) - sorted;
            sorted = sorted.masked_fill(before >= options.TopP, 0);
            probabilities = zeros_like(probabilities).scatter(-1, order, sorted);
            probabilities /= probabilities.sum(-1, keepdim: true);
        }
        return multinomial(probabilities, 1, generator: sampler).squeeze(-1).data<long>().ToArray();
    }

    private Tensor Slice(long[,] tokens, int start, int end)
    {
        int batch = tokens.GetLength(0);
        var values = new long[batch * (end - start)];
        for (int b = 0; b < batch; b++)
            for (int t = start; t < end; t++)
                values[b * (end - start) + t - start] = tokens[b, t];
        return tensor(values, [batch, end - start], device: model.Device);
    }

    // Positions count real tokens only, so a left-padded prompt starts at position 0 like an unpadded one.
    private Tensor Positions(bool[,] valid, int start, int end)
    {
        int batch = valid.GetLength(0);
        var positions = new long[batch * (end - start)];
        for (int b = 0; b < batch; b++)
        {
            long position = -1;
            for (int t = 0; t < end; t++)
            {
                if (valid[b, t])
                    position++;
                if (t >= start)
                    positions[b * (end - start) + t - start] = Math.Max(0, position);
            }
        }
        return tensor(positions, [batch, end - start], device: model.Device);
    }

    // (B, 1, T, S): query t may see key s ≤ t that is a real token. A padding query sees itself only, so no row of the
    // softmax is empty (an all-masked row would turn into NaN and leak through the cache).
    private Tensor Mask(bool[,] valid, int start, int end)
    {
        int batch = valid.GetLength(0), queries = end - start;
        var mask = new bool[batch * queries * end];
        for (int b = 0; b < batch; b++)
            for (int q = 0; q < queries; q++)
            {
                int query = start + q;
                for (int k = 0; k <= query; k++)
                    mask[(b * queries + q) * end + k] = valid[b, k] || k == query;
            }
        return tensor(mask, [batch, 1, queries, end], device: model.Device);
    }
}
