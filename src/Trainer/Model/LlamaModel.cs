using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>The decoder stack (Hugging Face's <c>model.*</c> parameters): embeddings, layers, final norm.</summary>
public sealed class LlamaModel : nn.Module
{
    [ComponentName(Name = "embed_tokens")] private readonly Embedding _embedTokens;
    [ComponentName(Name = "layers")] private readonly ModuleList<LlamaDecoderLayer> _layers;
    [ComponentName(Name = "norm")] private readonly RmsNorm _norm;
    private readonly RotaryEmbedding _rotaryEmb;
    private Action<Exception>? _checkpointFaults;   // set: recompute each layer in backward (gradient checkpointing)
    private IForwardState? _forwardState;
    private IReadOnlyList<Tensor>[] _trainableByLayer = [];

    public LlamaModel(LlamaConfig config, string path, LinearFactory linear, ScalarType dtype, Device device)
        : base(nameof(LlamaModel))
    {
        _embedTokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        var layers = new LlamaDecoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
            layers[i] = new LlamaDecoderLayer(config, i, $"{path}.layers.{i}", linear, dtype, device);
        _layers = nn.ModuleList(layers);
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        _rotaryEmb = new RotaryEmbedding(config, device);
        RegisterComponents();
    }

    public Parameter EmbeddingWeight => _embedTokens.weight!;

    public int LayerCount => _layers.Count;

    /// <summary>
    /// Attention as softmax(QKᵀ/√d)·V in plain operations rather than the fused kernel: the same function (not the
    /// same bits), and one that autograd can differentiate twice, which libtorch's fused CPU kernel cannot (the
    /// flatness probe's Hessian-vector products need that). Off by default: the fused kernel is faster.
    /// </summary>
    public bool ExplicitAttention { get; set; }

    /// <summary>
    /// Turns gradient checkpointing on for training forwards (grad enabled, training mode): each layer keeps only
    /// its input and is recomputed in backward. Faults in a recomputation go to <paramref name="onBackwardFault"/>;
    /// <paramref name="forwardState"/> (LoRA dropout's stream position) is seen again by each recomputation.
    /// </summary>
    internal void EnableGradientCheckpointing(Action<Exception> onBackwardFault, IForwardState? forwardState)
    {
        _checkpointFaults = onBackwardFault;
        _forwardState = forwardState;
        // The trainable (LoRA) parameters are fixed once adapters are injected: collected once, not per forward.
        _trainableByLayer = _layers.Select(l => (IReadOnlyList<Tensor>)l.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList()).ToArray();
    }

    /// <summary>
    /// Told, layer by layer, where backward is (<see cref="BackwardProbe"/>), so data-parallel exchange can start on
    /// layers whose LoRA gradients are final while backward goes on; null: no probes.
    /// </summary>
    internal Distributed.IBackwardProgress? BackwardProgress { get; set; }

    /// <param name="inputIds">(B, T) token ids.</param>
    /// <param name="positions">(B, T) positions; null means 0..T-1 after whatever the cache holds.</param>
    /// <param name="mask">(B, 1, T, S) boolean attention mask, or null for plain causal attention.</param>
    /// <param name="cache">Key/value cache for generation, or null.</param>
    /// <returns>(B, T, C) final hidden states.</returns>
    public Tensor forward(Tensor inputIds, Tensor? positions = null, Tensor? mask = null, KeyValueCache? cache = null)
    {
        using var scope = NewDisposeScope();
        long batch = inputIds.shape[0], time = inputIds.shape[1];
        positions ??= arange(cache?.Length ?? 0, (cache?.Length ?? 0) + time, dtype: int64, device: inputIds.device)
            .unsqueeze(0).expand(batch, time);                                                    // (B, T)
        Tensor h = _embedTokens.forward(inputIds);                                                 // (B, T, C)
        (Tensor cos, Tensor sin) = _rotaryEmb.Tables(positions, h.dtype);                          // (B, 1, T, hD)
        var context = new AttentionContext(cos, sin, mask, cache, ExplicitAttention);
        bool checkpointing = _checkpointFaults is not null && training && is_grad_enabled() && cache is null;
        Distributed.IBackwardProgress? progress = BackwardProgress is { } hook && is_grad_enabled() && cache is null ? hook : null;
        for (int i = 0; i < _layers.Count; i++)
        {
            if (progress is not null && h.requires_grad)
                h = BackwardProbe.Apply(h, i, progress);   // the first layer's input (the frozen embedding) has no gradient
            h = checkpointing
                ? CheckpointedLayerFunction.Run(_layers[i], h, context, _trainableByLayer[i], _checkpointFaults!, _forwardState)
                : _layers[i].forward(h, context);
        }
        return _norm.forward(h).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _rotaryEmb.Dispose();
        base.Dispose(disposing);
    }
}
