using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Keys and values of the positions seen so far, per layer, so generation feeds one new token per step.
/// Owns its tensors (outside any dispose scope); dispose it when generation ends.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    public KeyValueCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Positions already cached (same for every layer once a forward pass has finished).</summary>
    public long Length => _keys[^1]?.shape[2] ?? 0;

    /// <summary>Appends this step's (B, nKV, T, hD) keys and values; returns all cached ones for the layer.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        Tensor allKeys = _keys[layer] is null ? keys.detach() : cat([_keys[layer]!, keys.detach()], 2);
        Tensor allValues = _values[layer] is null ? values.detach() : cat([_values[layer]!, values.detach()], 2);
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = allKeys.DetachFromDisposeScope();
        _values[layer] = allValues.DetachFromDisposeScope();
        return (allKeys, allValues);
    }

    public void Dispose()
    {
        foreach (Tensor? t in _keys.Concat(_values))
            t?.Dispose();
        Array.Clear(_keys);
        Array.Clear(_values);
    }
}
