using FlatLora.Trainer.IO;
using FlatLora.Trainer.Lora;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>Builds a base model, optionally with a PEFT LoRA adapter on top, ready for inference or export.</summary>
public static class ModelLoader
{
    public static LlamaForCausalLM Load(BaseModel baseModel, string? adapterDirectory, ScalarType dtype, Device device, CancellationToken cancellationToken = default)
    {
        LlamaForCausalLM model;
        if (adapterDirectory is null)
        {
            model = new LlamaForCausalLM(baseModel.Config, dtype, device);
            foreach (var (_, parameter) in model.named_parameters())
                parameter.requires_grad = false;
        }
        else
        {
            LoraOptions options = PeftAdapter.ReadOptions(adapterDirectory) with { Dropout = 0 };
            model = LoraInjector.Build(baseModel.Config, options, dtype, device, runSeed: 0);
        }
        if (baseModel.RandomInitSeed is long seed)
            model.InitializeWeights(seed);
        else
            WeightLoader.LoadBaseWeights(model, baseModel.WeightFiles, cancellationToken);
        if (adapterDirectory is not null)
            PeftAdapter.Load(adapterDirectory, model);
        model.eval();
        return model;
    }

    /// <summary>
    /// The base model with LoRA layers placed by <paramref name="options"/> and B = 0, so W' = W exactly: the base
    /// as the flatness probe sees it, perturbed on the same layers as an adapter with those options.
    /// </summary>
    public static LlamaForCausalLM LoadWithEmptyAdapter(BaseModel baseModel, LoraOptions options, ScalarType dtype, Device device,
        CancellationToken cancellationToken = default)
    {
        LlamaForCausalLM model = LoraInjector.Build(baseModel.Config, options with { Dropout = 0 }, dtype, device, runSeed: 0);
        if (baseModel.RandomInitSeed is long seed)
            model.InitializeWeights(seed);
        else
            WeightLoader.LoadBaseWeights(model, baseModel.WeightFiles, cancellationToken);
        model.eval();
        return model;
    }
}
