using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Models;

/// <summary>Resolves a <see cref="ModelSpec"/> to a <see cref="BaseModel"/>.</summary>
public static class BaseModelCatalog
{
    public static BaseModel Resolve(ModelSpec spec, ITrainingObserver observer)
    {
        if (spec.Path is not null)
            throw new NotSupportedException(
                $"model.path: loading Hugging Face model folders is not implemented yet ({spec.Path}); use model.builtin: tiny");
        return spec.Builtin switch
        {
            "tiny" => new BaseModel(TinyBaseModel.Name, TinyShiftTask.ModelConfig, new ByteTokenizer(), [TinyBaseModel.EnsurePretrained(observer)]),
            _ => throw new ArgumentException($"model.builtin: unknown built-in model '{spec.Builtin}' (known: tiny)", nameof(spec)),
        };
    }
}
