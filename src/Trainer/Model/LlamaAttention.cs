using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FlatLora.Trainer.Model;

/// <summary>Multi-head attention with grouped key/value heads, rotary positions and scaled_dot_product_attention.</summary>
public sealed class LlamaAttention : nn.Module
{
    [ComponentName(Name = "q_proj")] private readonly nn.Module<Tensor, Tensor> _qProj;
    [ComponentName(Name = "k_proj")] private readonly nn.Module<Tensor, Tensor> _kProj;
    [ComponentName(Name = "v_proj")] private readonly nn.Module<Tensor, Tensor> _vProj;
    [ComponentName(Name = "o_proj")] private readonly nn.Module<Tensor, Tensor> _oProj;
    private readonly int _layerIndex;
    private readonly long _heads;
    private readonly long _kvHeads;
    private readonly long _headDim;

    public LlamaAttention(LlamaConfig config, int layerIndex, string path, LinearFactory linear)
        : base(nameof(LlamaAttention))
    {
        _layerIndex = layerIndex;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        long hidden = config.HiddenSize;
        _qProj = linear($"{path}.q_proj", hidden, _heads * _headDim);
        _kProj = linear($"{path}.k_proj", hidden, _kvHeads * _headDim);
        _vProj = linear($"{path}.v_proj", hidden, _kvHeads * _headDim);
        _oProj = linear($"{path}.o_proj", _heads * _headDim, hidden);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], time = x.shape[1];
        Tensor q = _qProj.forward(x).view(batch, time, _heads, _headDim).transpose(1, 2);     // (B, nH, T, hD)
        Tensor k = _kProj.forward(x).view(batch, time, _kvHeads, _headDim).transpose(1, 2);   // (B, nKV, T, hD)
        Tensor v = _vProj.forward(x).view(batch, time, _kvHeads, _headDim).transpose(1, 2);   // (B, nKV, T, hD)
        q = RotaryEmbedding.Apply(q, context.Cos, context.Sin);
        k = RotaryEmbedding.Apply(k, context.Cos, context.Sin);
        if (context.Cache is not null)
            (k, v) = context.Cache.Append(_layerIndex, k, v);                                  // (B, nKV, S, hD)

        k = RepeatKeyValueHeads(k);                                                             // (B, nH, S, hD)
        v = RepeatKeyValueHeads(v);
        // With an explicit mask the mask carries causality; without one every query sees its own prefix.
        bool causal = context.Mask is null && time > 1;
        Tensor y = context.ExplicitAttention
            ? ExplicitAttention(q, k, v, context.Mask, causal)
            : F.scaled_dot_product_attention(q, k, v, context.Mask, 0.0, causal);              // (B, nH, T, hD)
        y = y.transpose(1, 2).reshape(batch, time, _heads * _headDim);                          // (B, T, C)
        return _oProj.forward(y).MoveToOuterDisposeScope();
    }

    // softmax(QKᵀ/√d + mask)·V; the causal mask lets query t see keys up to t + (S − T), as the fused kernel does.
    private static Tensor ExplicitAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal)
    {
        long time = q.shape[2], length = k.shape[2];
        Tensor scores = q.matmul(k.transpose(-2, -1)).div(Math.Sqrt(q.shape[^1]));              // (B, nH, T, S)
        Tensor? allowed = mask ?? (causal ? ones(time, length, dtype: ScalarType.Bool, device: q.device).tril(length - time) : null);
        if (allowed is not null)
            scores = scores.masked_fill(allowed.logical_not(), float.NegativeInfinity);
        return F.softmax(scores.to(ScalarType.Float32), -1).to(v.dtype).matmul(v);             // (B, nH, T, hD)
    }

    // TorchSharp's sdpa has no grouped-query argument: expand each key/value head over its group of query heads.
    private Tensor RepeatKeyValueHeads(Tensor kv)
    {
        long groups = _heads / _kvHeads;
        if (groups == 1)
            return kv;
        long batch = kv.shape[0], length = kv.shape[2];
        return kv.unsqueeze(2)                                                                   // (B, nKV, 1, S, hD)
            .expand(batch, _kvHeads, groups, length, _headDim)                                   // (B, nKV, g, S, hD)
            .reshape(batch, _heads, length, _headDim);                                           // (B, nH, S, hD)
    }
}
