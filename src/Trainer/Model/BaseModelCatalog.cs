using FlatLora.Spec;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Model;

/// <summary>Resolves a <see cref="ModelSpec"/> to a <see cref="BaseModel"/>: a Hugging Face folder or a built-in model.</summary>
public static class BaseModelCatalog
{
    public static BaseModel Resolve(ModelSpec spec, ITrainingObserver observer)
    {
        if (spec.Path is not null)
            return HuggingFaceModelFolder.Load(HubCache.Resolve(spec.Path));
        return spec.Builtin switch
        {
            "tiny" => new BaseModel(TinyBaseModel.Name, TinyShiftTask.ModelConfig, new ByteTokenizer(), [TinyBaseModel.EnsurePretrained(observer)]),
            _ => throw new ArgumentException($"model.builtin: unknown built-in model '{spec.Builtin}' (known: tiny)", nameof(spec)),
        };
    }

    /// <summary>A model named on the command line: a folder path, a Hugging Face hub id in the local cache, or "tiny" for the built-in one.</summary>
    public static BaseModel Resolve(string nameOrPath, ITrainingObserver observer) =>
        nameOrPath is "tiny" or TinyBaseModel.Name && !Directory.Exists(nameOrPath)
            ? Resolve(new ModelSpec { Builtin = "tiny" }, observer)
            : HuggingFaceModelFolder.Load(HubCache.Resolve(nameOrPath, "--model"));
}
