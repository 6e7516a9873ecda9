using System.Buffers.Binary;
using System.IO.Hashing;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Methods;
using FlatLora.Trainer.Training;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Flat;

/// <summary>
/// Flat-LoRA as a training method: once per optimizer step it sets σ_t, computes each LoRA layer's row scales and
/// switches the noise on for every micro-batch of that step. It places a <see cref="LayerPerturbation"/> as each
/// layer's frozen projection. The noise of layer l at step t is the counter stream (seed, l, t), so any process
/// regenerates the same ε without communicating it.
/// </summary>
public sealed class FlatLoraPerturbation : ITrainingMethod
{
    private const int FingerprintRowsPerLayer = 4;
    private const int FingerprintColumnsPerRow = 2;
    private readonly List<LayerPerturbation> _layers;
    private readonly BackwardFaults _faults = new();

    public FlatLoraPerturbation(IReadOnlyList<LoraLinear> layers, long runSeed, double rho, long totalSteps)
        : this(layers, runSeed, rho, totalSteps, kernel: null)
    {
    }

    private FlatLoraPerturbation(IReadOnlyList<LoraLinear> layers, long runSeed, double rho, long totalSteps, Cuda.CudaNoiseKernel? kernel)
    {
        if (rho < 0 || !double.IsFinite(rho))
            throw new ArgumentOutOfRangeException(nameof(rho), rho, "ρ must be a finite number ≥ 0");
        if (totalSteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total optimizer steps must be positive");
        Rho = rho;
        TotalSteps = totalSteps;
        long noiseKey = Seeding.Derive(runSeed, "flat-lora-noise");
        _layers = layers.Select((layer, index) => new LayerPerturbation(layer, index, noiseKey, _faults, kernel)).ToList();
        foreach (LayerPerturbation layer in _layers)
            layer.Layer.Projection = layer;
    }

    /// <summary>
    /// Flat-LoRA for a run on <paramref name="device"/>. On a GPU the fused noise kernel is resolved once for the run;
    /// where it is unavailable the noise is generated on the CPU, and the observer is told which path is used and why.
    /// </summary>
    public static FlatLoraPerturbation Create(IReadOnlyList<LoraLinear> layers, long runSeed, double rho, long totalSteps, Device device,
        ITrainingObserver observer)
    {
        Cuda.CudaNoiseKernel? kernel = null;
        if (device.type == TorchSharp.DeviceType.CUDA)
        {
            kernel = Cuda.CudaNoiseKernel.For(device, out string noise);
            observer.OnInfo($"Flat-LoRA noise on {device}: {noise}.");
        }
        return new FlatLoraPerturbation(layers, runSeed, rho, totalSteps, kernel);
    }

    /// <summary>Layer <paramref name="index"/>'s perturbation state (tests and diagnostics).</summary>
    internal LayerPerturbation Layer(int index) => _layers[index];

    public double Rho { get; }
    public long TotalSteps { get; }
    public int LayerCount => _layers.Count;

    /// <summary>The step whose noise is switched on, or null between steps (and when σ_t = 0).</summary>
    public long? ActiveStep { get; private set; }

    public double Sigma(long step) => FlatLoraSchedule.Sigma(Rho, step, TotalSteps);

    /// <summary>Raises the first fault a perturbed backward pass recorded since the last call (call after backward()).</summary>
    public void ThrowIfBackwardFaulted() => _faults.ThrowIfAny();

    /// <summary>Switches on step <paramref name="step"/>'s noise; σ_t = 0 (ρ = 0, or t = 0) leaves the model unperturbed.</summary>
    public double BeginStep(long step)
    {
        EndStep();
        double sigma = Sigma(step);
        if (sigma == 0)
            return 0;
        foreach (LayerPerturbation layer in _layers)
            layer.Activate(step, sigma);
        ActiveStep = step;
        return sigma;
    }

    public void EndStep()
    {
        foreach (LayerPerturbation layer in _layers)
            layer.Deactivate();
        ActiveStep = null;
    }

    /// <summary>ε of one layer for the active step, (out, in) fp32 (for tests and diagnostics).</summary>
    public Tensor Epsilon(int layer) => ActiveStep is null
        ? throw new InvalidOperationException("no Flat-LoRA step is active")
        : _layers[layer].Epsilon();

    public ulong ConsistencyHash(long step) => Fingerprint(step).Hash;

    /// <summary>
    /// Hash of ε at fixed positions of every layer for the active step. The sampled row scales of all layers come to
    /// the host in one copy: a copy per layer would stall a GPU step once per LoRA linear.
    /// </summary>
    public PerturbationFingerprint Fingerprint(long step)
    {
        if (ActiveStep != step)
            return PerturbationFingerprint.Inactive(step);
        if (_layers.Count == 0)
            return new PerturbationFingerprint(step, 0, new XxHash64().GetCurrentHashAsUInt64());
        float[] rowScales = SampledRowScales();
        var hash = new XxHash64();
        Span<byte> word = stackalloc byte[8];
        int next = 0;
        foreach (LayerPerturbation layer in _layers)
        {
            long cols = layer.Layer.InFeatures;
            CounterNormal stream = layer.Stream;
            foreach (long row in SampleRows(layer))
            {
                float scale = rowScales[next++];
                for (int c = 0; c < FingerprintColumnsPerRow; c++)
                {
                    long col = c * (cols - 1) / Math.Max(1, FingerprintColumnsPerRow - 1);
                    float epsilon = stream.At(row * cols + col) * scale;
                    BinaryPrimitives.WriteInt64LittleEndian(word, ((long)layer.Index << 32) | (uint)BitConverter.SingleToInt32Bits(epsilon));
                    hash.Append(word);
                }
            }
        }
        return new PerturbationFingerprint(step, _layers[0].Sigma, hash.GetCurrentHashAsUInt64());
    }

    private static long[] SampleRows(LayerPerturbation layer)
    {
        long rows = layer.Layer.OutFeatures;
        return Enumerable.Range(0, FingerprintRowsPerLayer).Select(i => i * (rows - 1) / Math.Max(1, FingerprintRowsPerLayer - 1)).ToArray();
    }

    // Every layer's sampled row scales, gathered on their device, then one device-to-host copy.
    private float[] SampledRowScales()
    {
        using var scope = NewDisposeScope();
        Device device = _layers[0].RowScale.device;
        Tensor all = cat(_layers.Select(layer => layer.RowScale.index_select(0, tensor(SampleRows(layer), device: layer.RowScale.device)).to(device)).ToList(), 0);
        return all.to(float32).cpu().data<float>().ToArray();
    }

    public void Dispose()
    {
        foreach (LayerPerturbation layer in _layers)
        {
            layer.Layer.Projection = PlainProjection.Instance;
            layer.Dispose();
        }
        _layers.Clear();
    }
}
