using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Generation;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>
/// S2R2's evaluation: generate an answer to each prompt and to perturbed copies of it (greedy, so only the prompt
/// differs), split the answers into segments, align them by optimal transport and report each segment's drift.
/// A prompt is perturbed the same way for every model evaluated, so LoRA and Flat-LoRA see the same inputs.
/// </summary>
public static class GenerationDriftEvaluator
{
    public static ModelRobustness Evaluate(string label, string? adapter, LlamaForCausalLM model, ITokenizer tokenizer, SegmentEmbedder embedder,
        IReadOnlyList<TrainingExample> examples, GenerationDriftSettings settings, Action<string> progress, int batchSize = 8)
    {
        IReadOnlyList<PerturbationChoice> choices = PerturbationCatalog.Parse(settings.Perturbations, "--perturb");
        var chosen = examples.Take(settings.MaxExamples).ToList();
        if (chosen.Count == 0)
            throw new ArgumentException("the data has no examples to evaluate");

        // Every prompt: the clean one, then one per perturbation.
        var prompts = new List<(int Example, int Choice, PerturbedText Prompt, int[] Ids)>();
        for (int i = 0; i < chosen.Count; i++)
        {
            var prefix = chosen[i].Segments.TakeWhile(s => !s.IsTarget).ToList();
            prompts.Add((i, -1, new PerturbedText(chosen[i].Prompt, chosen[i].Prompt, []), Ids(prefix, tokenizer)));
            for (int c = 0; c < choices.Count; c++)
            {
                var random = new PerturbationRandom(Seeding.Derive(settings.Seed, "robustness", i, c));
                var edits = new List<PerturbationEdit>();
                var perturbed = prefix.Select(s =>
                {
                    if (s.SpecialTokenId is not null)
                        return s;
                    PerturbedText changed = choices[c].Apply(s.Text, ref random);
                    edits.AddRange(changed.Edits);
                    return s with { Text = changed.Text };
                }).ToList();
                string text = string.Concat(perturbed.Select(s => s.Text));
                prompts.Add((i, c, new PerturbedText(chosen[i].Prompt, text, edits), Ids(perturbed, tokenizer)));
            }
        }

        var generator = new TextGenerator(model, tokenizer);
        var options = new GenerationOptions { MaxNewTokens = settings.MaxNewTokens };
        var answers = new string[prompts.Count];
        var lastReport = System.Diagnostics.Stopwatch.StartNew();
        for (int start = 0; start < prompts.Count; start += batchSize)
        {
            var batch = prompts.Skip(start).Take(batchSize).ToList();
            IReadOnlyList<GenerationResult> results = generator.Generate(batch.Select(p => p.Prompt.Text).ToList(), batch.Select(p => p.Ids).ToList(), options);
            for (int k = 0; k < results.Count; k++)
                answers[start + k] = results[k].Text.Trim();
            int done = Math.Min(start + batchSize, prompts.Count);
            if (done == prompts.Count || lastReport.Elapsed > TimeSpan.FromSeconds(3))
            {
                progress($"{label}: generated {done}/{prompts.Count} answers");
                lastReport.Restart();
            }
        }

        // Embed every segment and every whole answer in one batched pass.
        var segments = answers.Select(a => Segmenter.Split(a)).ToList();
        var texts = segments.SelectMany(s => s.Select(u => u.Text)).Concat(answers.Select(a => a.Length == 0 ? " " : a)).ToList();
        float[][] vectors = embedder.Embed(texts);
        var segmentVectors = new List<float[][]>();
        int cursor = 0;
        foreach (var units in segments)
        {
            segmentVectors.Add(vectors.AsSpan(cursor, units.Count).ToArray());
            cursor += units.Count;
        }
        float[][] answerVectors = vectors.AsSpan(cursor, answers.Length).ToArray();

        var examplesOut = new List<ExampleRobustness>();
        int perExample = 1 + choices.Count;
        for (int i = 0; i < chosen.Count; i++)
        {
            int clean = i * perExample;
            string? reference = string.IsNullOrWhiteSpace(chosen[i].Response) ? null : chosen[i].Response;
            var perturbedList = new List<PerturbedGeneration>();
            for (int c = 0; c < choices.Count; c++)
            {
                int k = clean + 1 + c;
                IReadOnlyList<SegmentDriftResult> drift = SegmentAlignment.Align(segments[clean], segmentVectors[clean], segments[k], segmentVectors[k],
                    settings.Epsilon, settings.Mass);
                perturbedList.Add(new PerturbedGeneration(choices[c].Label, prompts[k].Prompt.Text, prompts[k].Prompt.Edits, answers[k], segments[k], drift,
                    Sinkhorn.Cosine(answerVectors[clean], answerVectors[k]), reference is null ? null : RougeL.F1(answers[k], reference)));
            }
            examplesOut.Add(new ExampleRobustness(i, chosen[i].Source, chosen[i].Prompt, reference, answers[clean], segments[clean],
                reference is null ? null : RougeL.F1(answers[clean], reference), perturbedList));
        }
        var summary = choices.Select((choice, c) => Summarise(choice.Label, examplesOut, c, settings)).ToList();
        return new ModelRobustness(label, adapter, summary, examplesOut);
    }

    private static PerturbationSummary Summarise(string label, List<ExampleRobustness> examples, int choice, GenerationDriftSettings settings)
    {
        var generations = examples.Select(e => e.Perturbed[choice]).ToList();
        double[] drifts = [.. generations.SelectMany(g => g.Drift.Select(d => d.Drift)).Order()];
        double? drop = null;
        var scored = examples.Where(e => e.CleanRougeL is not null).ToList();
        if (scored.Count > 0)
        {
            double clean = scored.Average(e => e.CleanRougeL!.Value), perturbed = scored.Average(e => e.Perturbed[choice].RougeL!.Value);
            drop = clean > 0 ? (clean - perturbed) / clean : null;
        }
        return new PerturbationSummary(
            label, examples.Count, drifts.Length,
            drifts.Length == 0 ? 0 : drifts.Average(),
            drifts.Length == 0 ? 0 : DriftSummary.Percentile(drifts, 0.95),
            drifts.Length == 0 ? 0 : drifts[^1],
            drifts.Length == 0 ? 0 : (double)drifts.Count(d => d > settings.HighDrift) / drifts.Length,
            generations.Average(g => g.SequenceSimilarity),
            generations.Count(g => g.SequenceSimilarity >= settings.SimilarSequence && g.MaxDrift > settings.HighDrift),
            generations.Sum(g => g.Drift.Count(d => d.CriticalChange)),
            drop);
    }

    private static int[] Ids(IReadOnlyList<TextSegment> prefix, ITokenizer tokenizer) =>
        ExampleEncoder.Tokens(prefix, tokenizer, closeWithEos: false).Tokens.ToArray();
}
