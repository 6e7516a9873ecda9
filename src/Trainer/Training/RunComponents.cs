using FlatLora.Spec;
using FlatLora.Trainer.Flat;
using FlatLora.Trainer.Hardware;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Methods;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Robustness;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Training;

/// <summary>
/// What a run owns that holds native memory: the model with LoRA, AdamW, the training method, plus the parts built
/// with them. <see cref="Build"/> disposes whatever it already made when a later part fails (a corrupt weight file, a
/// kernel check that throws), so a long-lived silo does not leak a half-built run on every failed start.
/// </summary>
internal sealed class RunComponents : IDisposable
{
    private RunComponents()
    {
    }

    public LlamaForCausalLM Model { get; private set; } = null!;
    public IReadOnlyList<Parameter> LoraParameters { get; private set; } = [];

    /// <summary>The decoder layer of each of <see cref="LoraParameters"/> (for exchange overlapped with backward).</summary>
    public IReadOnlyList<int> LoraLayers { get; private set; } = [];
    public AdamW Optimizer { get; private set; } = null!;
    public ITrainingMethod Method { get; private set; } = PlainLoraMethod.Instance;
    public DriftRegularizer Robustness { get; private set; } = null!;

    /// <summary>Where LoRA dropout draws its masks; the loop sets its position before each forward pass.</summary>
    public DropoutStreams Dropout { get; private set; } = null!;

    /// <summary>Faults of gradient checkpointing's recomputation, raised after backward.</summary>
    public BackwardFaults CheckpointFaults { get; } = new();

    /// <summary>Digest of the frozen weights at the start, when the run verifies them.</summary>
    public ulong? FrozenDigest { get; private set; }

    public static RunComponents Build(TrainSpec spec, BaseModel baseModel, RunPlan plan, Device device, RunOptions options)
    {
        var parts = new RunComponents();
        try
        {
            parts.Dropout = new DropoutStreams(spec.Seed);
            parts.Model = LoraInjector.Build(baseModel.Config, LoraOptions.From(spec.Lora), DeviceSelector.Dtype(spec.Model.Dtype), device, spec.Seed,
                parts.Dropout);
            if (baseModel.RandomInitSeed is long initSeed)
                parts.Model.InitializeWeights(initSeed);
            else
                WeightLoader.LoadBaseWeights(parts.Model, baseModel.WeightFiles, options.Cancellation);
            parts.Model.train();
            if (spec.Training.GradientCheckpointing)
                parts.Model.EnableGradientCheckpointing(parts.CheckpointFaults.Record, parts.Dropout);
            var lora = LoraInjector.LoraParameters(parts.Model);
            parts.LoraParameters = lora.Select(p => p.Parameter).ToList();
            parts.LoraLayers = lora.Select(p => LoraInjector.DecoderLayer(p.Name)).ToList();
            OptimizerSpec o = spec.Optimizer;
            parts.Optimizer = optim.AdamW(parts.LoraParameters, lr: o.Lr, beta1: o.Beta1, beta2: o.Beta2, eps: o.Eps, weight_decay: o.WeightDecay);
            parts.Method = TrainingMethods.Create(spec.Method, LoraInjector.LoraLayers(parts.Model), spec.Seed, plan.TotalSteps, device, options.Observer);
            parts.Robustness = new DriftRegularizer(spec.Robustness, baseModel.Tokenizer, spec.Data.MaxSeqLen, spec.Seed);
            parts.FrozenDigest = options.VerifyFrozenWeights ? FrozenWeightDigest.Compute(parts.Model) : null;
            return parts;
        }
        catch
        {
            parts.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Method.Dispose();
        Optimizer?.Dispose();
        Model?.Dispose();
    }
}
