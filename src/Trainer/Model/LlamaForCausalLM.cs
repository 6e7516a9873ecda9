using FlatLora.Trainer.Determinism;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Llama decoder plus language-model head. Parameter names match Hugging Face's (<c>model.layers.0.mlp.up_proj.weight</c>,
/// <c>lm_head.weight</c>) so checkpoints load by name.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    [ComponentName(Name = "model")] private readonly LlamaModel _model;
    [ComponentName(Name = "lm_head")] private readonly Linear? _lmHead;   // null when tied to the embeddings

    public LlamaForCausalLM(LlamaConfig config, ScalarType dtype, Device device, LinearFactory? linear = null)
        : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        Dtype = dtype;
        Device = device;
        linear ??= PlainLinear(dtype, device);
        _model = new LlamaModel(config, "model", linear, dtype, device);
        if (!config.TieWordEmbeddings)
            _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }
    public ScalarType Dtype { get; }
    public Device Device { get; }
    public LlamaModel Decoder => _model;

    /// <summary>See <see cref="LlamaModel.ExplicitAttention"/>.</summary>
    public bool ExplicitAttention
    {
        get => _model.ExplicitAttention;
        set => _model.ExplicitAttention = value;
    }

    /// <summary>Recompute each decoder layer in backward instead of keeping its activations (see <see cref="LlamaModel"/>).</summary>
    internal void EnableGradientCheckpointing(Action<Exception> onBackwardFault, IForwardState? forwardState = null) =>
        _model.EnableGradientCheckpointing(onBackwardFault, forwardState);

    /// <summary>The bias-free linear layer a model without LoRA uses.</summary>
    public static LinearFactory PlainLinear(ScalarType dtype, Device device) =>
        (_, inFeatures, outFeatures) => nn.Linear(inFeatures, outFeatures, hasBias: false, device: device, dtype: dtype);

    /// <summary>Logits (B, T, V) in the model dtype.</summary>
    public Tensor forward(Tensor inputIds, Tensor? positions = null, Tensor? mask = null, KeyValueCache? cache = null)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = _model.forward(inputIds, positions, mask, cache);                         // (B, T, C)
        Tensor logits = _lmHead is null ? F.linear(hidden, _model.EmbeddingWeight) : _lmHead.forward(hidden);
        return logits.MoveToOuterDisposeScope();                                                   // (B, T, V)
    }

    /// <summary>
    /// Fills every non-LoRA weight like Hugging Face's initializer (normal, std 0.02; norms at one) from a seeded
    /// generator keyed by parameter name, so two processes build the same random model.
    /// </summary>
    public void InitializeWeights(long seed, double std = 0.02)
    {
        using var noGrad = no_grad();
        foreach ((string name, Parameter parameter) in named_parameters())
        {
            if (name.Contains("lora_", StringComparison.Ordinal))
                continue;
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(1.0);
                continue;
            }
            long parameterSeed = Seeding.Derive(seed, "init", name);
            if (parameter.device.type == DeviceType.CPU)
            {
                using var generator = new Generator(unchecked((ulong)parameterSeed));
                parameter.normal_(0.0, std, generator);
            }
            else
            {
                // TorchSharp's Generator is CPU-only and the device generators are shared by the device threads: the
                // run's counter stream, generated on the host, is the same on any device and any thread.
                using var scope = NewDisposeScope();
                long rows = parameter.shape[0], columns = parameter.numel() / Math.Max(1, rows);
                Tensor z = NoiseFill.StandardNormal(new CounterNormal(parameterSeed, 0, 0), rows, columns);
                parameter.copy_(z.mul_(std).reshape(parameter.shape).to(parameter.dtype).to(parameter.device));
            }
        }
    }
}
