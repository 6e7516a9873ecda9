using FlatLora.Trainer.Tokenization;
using FlatLora.Spec;
using FlatLora.Trainer.Tasks;

namespace FlatLora.Trainer.Data;

/// <summary>Resolves a <see cref="DataSpec"/> to encoded training and evaluation examples.</summary>
public static class DatasetCatalog
{
    public static TrainingData Load(DataSpec spec, ITokenizer tokenizer, long seed, CancellationToken cancellationToken = default)
    {
        if (spec.Train is not null)
        {
            var columns = new DataColumns(spec.Columns);
            var train = DatasetReader.Read(spec.Train, spec.Format, spec.Template, tokenizer.ChatTemplate, columns, cancellationToken);
            var eval = spec.Eval is null ? null : DatasetReader.Read(spec.Eval, spec.Format, spec.Template, tokenizer.ChatTemplate, columns, cancellationToken);
            return TrainingData.Encode(train, eval, spec.EvalFraction, tokenizer, spec.MaxSeqLen, seed, cancellationToken);
        }
        return spec.Builtin switch
        {
            TinyShiftTask.Name => EncodeBuiltin(tokenizer, spec.MaxSeqLen, seed),
            _ => throw new ArgumentException($"data.builtin: unknown built-in task '{spec.Builtin}' (known: {TinyShiftTask.Name})", nameof(spec)),
        };
    }

    private static TrainingData EncodeBuiltin(ITokenizer tokenizer, int maxSeqLen, long seed)
    {
        (var train, var eval) = TinyShiftTask.FineTuning();
        return TrainingData.Encode(train, eval, 0, tokenizer, maxSeqLen, seed);
    }
}
