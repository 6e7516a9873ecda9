using FlatLora.Trainer.Data;
using FlatLora.Trainer.Robustness.Perturbations;
using FlatLora.Trainer.Tokenization;

namespace FlatLora.Trainer.Robustness;

/// <summary>
/// One example twice: with its prompt as written and with a perturbed prompt, both followed by the same response.
/// <see cref="CleanPositions"/>[k] and <see cref="PerturbedPositions"/>[k] are the logit positions that predict the
/// same response token (same id at the same place in the response), and <see cref="Segment"/>[k] is the response
/// segment that token belongs to. Tokens the two encodings do not share (at a prompt/response boundary that
/// tokenizes differently) are left out.
/// </summary>
public sealed record TeacherForcedPair(
    EncodedExample Clean, EncodedExample Perturbed, int[] CleanPositions, int[] PerturbedPositions, int[] Segment,
    IReadOnlyList<TextUnit> Segments, PerturbedText Prompt, string PerturbationLabel)
{
    /// <summary>Builds the pair; non-target text (prompts, user turns) is perturbed, targets and special tokens are kept.</summary>
    public static TeacherForcedPair Build(TrainingExample example, PerturbationChoice perturbation, ref PerturbationRandom random,
        ITokenizer tokenizer, int maxSeqLen)
    {
        var perturbedSegments = new List<TextSegment>();
        var edits = new List<PerturbationEdit>();
        foreach (TextSegment segment in example.Segments)
        {
            if (segment.IsTarget || segment.SpecialTokenId is not null)
            {
                perturbedSegments.Add(segment);
                continue;
            }
            PerturbedText changed = perturbation.Apply(segment.Text, ref random);
            edits.AddRange(changed.Edits);
            perturbedSegments.Add(segment with { Text = changed.Text });
        }
        string prompt = example.Prompt;
        var perturbedExample = example with { Segments = perturbedSegments };
        var promptChange = new PerturbedText(prompt, perturbedExample.Prompt, edits);

        (EncodedExample clean, int[] cleanOffsets) = Encode(example, tokenizer, maxSeqLen);
        (EncodedExample perturbed, int[] perturbedOffsets) = Encode(perturbedExample, tokenizer, maxSeqLen);
        var perturbedByToken = new Dictionary<(int Offset, int Id), int>();
        for (int t = 0; t < perturbed.Targets.Length; t++)
        {
            if (perturbed.Targets[t] != ExampleEncoder.Ignore && perturbedOffsets[t] >= 0)
                perturbedByToken.TryAdd((perturbedOffsets[t], perturbed.Targets[t]), t);
        }

        IReadOnlyList<TextUnit> units = Segmenter.Split(example.Response);
        var cleanPositions = new List<int>();
        var perturbedPositions = new List<int>();
        var segmentOf = new List<int>();
        for (int t = 0; t < clean.Targets.Length; t++)
        {
            if (clean.Targets[t] == ExampleEncoder.Ignore || cleanOffsets[t] < 0
                || !perturbedByToken.TryGetValue((cleanOffsets[t], clean.Targets[t]), out int match))
                continue;
            cleanPositions.Add(t);
            perturbedPositions.Add(match);
            segmentOf.Add(SegmentAt(units, cleanOffsets[t]));
        }
        if (units.Count == 0)
            units = [new TextUnit(0, 0, example.Response, [], [])];
        return new TeacherForcedPair(clean, perturbed, [.. cleanPositions], [.. perturbedPositions], [.. segmentOf], units, promptChange, perturbation.Label);
    }

    /// <summary>The training encoding (as <see cref="ExampleEncoder.Encode"/> makes it) and, per position, where its target starts in the response.</summary>
    private static (EncodedExample Encoded, int[] TargetOffsets) Encode(TrainingExample example, ITokenizer tokenizer, int maxSeqLen)
    {
        EncodedExample encoded = ExampleEncoder.Encode(example, tokenizer, maxSeqLen);
        ExampleEncoder.EncodedTokens tokens = ExampleEncoder.TokensWithTargetOffsets(example.Segments, tokenizer, closeWithEos: true);
        int[] offsets = new int[encoded.InputIds.Length];
        for (int t = 0; t < offsets.Length; t++)
            offsets[t] = tokens.TargetOffset[t + 1];
        return (encoded, offsets);
    }

    // Whitespace between segments belongs to the segment before it; the closing eos to the last one.
    private static int SegmentAt(IReadOnlyList<TextUnit> units, int offset)
    {
        int index = 0;
        for (int u = 0; u < units.Count && units[u].Start <= offset; u++)
            index = u;
        return index;
    }
}
