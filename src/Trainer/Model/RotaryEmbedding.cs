using static TorchSharp.torch;

namespace FlatLora.Trainer.Model;

/// <summary>
/// Rotary position embedding tables. The inverse frequencies follow Hugging Face exactly (including Llama 3.1's
/// frequency-band scaling) so imported checkpoints see the positions they were trained with.
/// Not a module on purpose: TorchSharp would register the table as a persistent buffer, and checkpoints must not
/// carry it (Hugging Face derives it from the config too).
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _invFreq;   // (hD/2), fp32

    public RotaryEmbedding(LlamaConfig config, Device device)
    {
        using var scope = NewDisposeScope();
        _invFreq = InverseFrequencies(config).to(device).DetachFromDisposeScope();
    }

    public void Dispose() => _invFreq.Dispose();

    /// <summary>cos and sin tables for the given positions (B, T), each (B, 1, T, hD), in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor freqs = positions.to(float32).unsqueeze(-1) * _invFreq.to(positions.device);  // (B, T, hD/2)
        Tensor angles = cat([freqs, freqs], -1);                                             // (B, T, hD)
        Tensor cos = angles.cos().to(dtype).unsqueeze(1);                                     // (B, 1, T, hD)
        Tensor sin = angles.sin().to(dtype).unsqueeze(1);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>Rotates the last dimension of <paramref name="x"/> (B, nH, T, hD) by the position angles.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        Tensor x1 = x[.., .., .., ..(int)half];
        Tensor x2 = x[.., .., .., (int)half..];
        Tensor rotated = cat([-x2, x1], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }

    private static Tensor InverseFrequencies(LlamaConfig config)
    {
        using var scope = NewDisposeScope();
        int dim = config.HeadDim;
        Tensor exponents = arange(0, dim, 2, dtype: int64).to(float32) / dim;
        Tensor invFreq = 1.0 / pow(config.RopeTheta, exponents);
        RopeScaling? scaling = config.RopeScaling;
        if (scaling?.Kind == "linear")
            invFreq = invFreq / scaling.Factor;
        else if (scaling?.Kind == "llama3")
            invFreq = Llama3Scaled(invFreq, scaling);
        return invFreq.MoveToOuterDisposeScope();
    }

    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended smoothly.
    private static Tensor Llama3Scaled(Tensor invFreq, RopeScaling s)
    {
        double oldContext = s.OriginalMaxPositionEmbeddings;
        double lowFreqWavelen = oldContext / s.LowFreqFactor;
        double highFreqWavelen = oldContext / s.HighFreqFactor;
        Tensor wavelen = 2 * Math.PI / invFreq;
        Tensor scaled = where(wavelen > lowFreqWavelen, invFreq / s.Factor, invFreq);
        Tensor smooth = (oldContext / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        Tensor smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        Tensor isMedium = (wavelen >= highFreqWavelen).logical_and(wavelen <= lowFreqWavelen);
        return where(isMedium, smoothed, scaled);
    }
}
