using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Flat;
using FlatLora.Trainer.Lora;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// Seeded full-space weight noise for the flatness probe, on every LoRA layer of a model: the training method's own
/// <see cref="LayerPerturbation"/> (regenerated from a counter stream, never stored, W never written), keyed by the
/// probe seed instead of a run's. Sample n at σ is exactly Flat-LoRA's ε at σ with stream n; direction k is the same
/// stream family rescaled per row to a filter-normalised direction (Li et al., 2018). Sample n and direction k draw
/// the same z for every model probed with the same seed, so models are compared on common noise.
/// </summary>
internal sealed class ProbeNoise : IDisposable
{
    // Directions use streams above every sample's, so a direction never reuses a sample's z.
    private const long DirectionStreamBase = 1L << 31;
    private readonly List<(LoraLinear Layer, IFrozenProjection Previous)> _previous;
    private readonly List<LayerPerturbation> _layers;
    private readonly BackwardFaults _faults = new();
    private readonly List<Tensor> _directionScale = [];
    private int _direction = -1;
    private bool _disposed;

    public ProbeNoise(IReadOnlyList<LoraLinear> layers, long seed)
    {
        if (layers.Count == 0)
            throw new InvalidOperationException("the model has no LoRA layers: the flatness probe perturbs exactly the layers LoRA adapts");
        long key = Seeding.Derive(seed, "flatness-probe");
        _previous = layers.Select(l => (l, l.Projection)).ToList();
        _layers = layers.Select((layer, index) => new LayerPerturbation(layer, index, key, _faults)).ToList();
        foreach (LayerPerturbation layer in _layers)
            layer.Layer.Projection = layer;
    }

    /// <summary>Flat-LoRA's noise at σ from stream <paramref name="sample"/>: ε_ij ~ N(0, σ²‖W'_i‖²/n_in).</summary>
    public void Sample(int sample, double sigma)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sample);
        foreach (LayerPerturbation layer in _layers)
            layer.Activate(sample, sigma);
    }

    /// <summary>W' + α·d_k, where row i of d_k is z_i·‖W'_i‖/‖z_i‖ (so ‖d_k,i‖ = ‖W'_i‖).</summary>
    public void Direction(int direction, double alpha)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(direction);
        if (direction != _direction)
            PrepareDirection(direction);
        using var scope = NewDisposeScope();
        for (int l = 0; l < _layers.Count; l++)
            _layers[l].ActivateWithRowScale(DirectionStreamBase + direction, _directionScale[l] * alpha);
    }

    /// <summary>ε of layer <paramref name="layer"/> as switched on now, (out, in) fp32 (tests).</summary>
    public Tensor Epsilon(int layer) => _layers[layer].Epsilon();

    public void Off()
    {
        foreach (LayerPerturbation layer in _layers)
            layer.Deactivate();
    }

    // ‖W'_i‖/‖z_i‖ per layer; z is generated once per direction to take its row norms (O(out) kept).
    private void PrepareDirection(int direction)
    {
        DisposeDirection();
        using var noGrad = no_grad();
        foreach (LayerPerturbation layer in _layers)
        {
            using var scope = NewDisposeScope();
            // Selects the direction's stream (unit scales for now; the real ones are set per α).
            layer.ActivateWithRowScale(DirectionStreamBase + direction, ones(layer.Layer.OutFeatures, dtype: float32, device: layer.Layer.Weight.device));
            Tensor z = NoiseFill.StandardNormal(layer.Stream, layer.Layer.OutFeatures, layer.Layer.InFeatures);
            Tensor zNorm = z.pow(2).sum(1).sqrt_().to(layer.Layer.Weight.device);
            Tensor merged = layer.MergedRowNormSquared().sqrt();
            _directionScale.Add(merged.div(zNorm).DetachFromDisposeScope());
        }
        Off();
        _direction = direction;
    }

    private void DisposeDirection()
    {
        foreach (Tensor t in _directionScale)
            t.Dispose();
        _directionScale.Clear();
        _direction = -1;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        DisposeDirection();
        foreach ((LoraLinear layer, IFrozenProjection previous) in _previous)
            layer.Projection = previous;
        foreach (LayerPerturbation layer in _layers)
            layer.Dispose();
    }
}
