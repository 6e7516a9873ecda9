using static TorchSharp.torch;

namespace FlatLora.Trainer.Flat;

/// <summary>
/// What a perturbed forward pass remembers for backward: the layer and the step whose noise it used. Backward
/// regenerates W + ε from it and refuses if the layer has moved on to another step's noise.
/// </summary>
internal sealed record PerturbationCapture(LayerPerturbation Layer, long Step)
{
    public Tensor PerturbedWeight()
    {
        if (!Layer.IsActive || Layer.Step != Step)
            throw new InvalidOperationException(
                $"Flat-LoRA noise of {Layer.Layer.Path} changed from step {Step} to step {Layer.Step} " +
                "(or was switched off) before backward ran; every backward must finish inside its optimizer step.");
        return Layer.PerturbedWeight();
    }
}
