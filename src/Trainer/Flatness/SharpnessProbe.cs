using FlatLora.Trainer.Data;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// How flat the loss is around a model's merged weights W' = W + s·BA, in the full weight space of its LoRA layers:
/// expected sharpness E[L(W' + ε)] − L(W') under Flat-LoRA's filter-wise noise, loss curves along filter-normalised
/// random directions, and optionally the top Hessian eigenvalue. Embeddings, norms and lm_head are never perturbed
/// (the layers Flat-LoRA perturbs are exactly the LoRA layers). The merged weights are never formed or written:
/// every evaluation runs the training noise path, which builds W + ε transiently per layer.
/// </summary>
public static class SharpnessProbe
{
    /// <param name="progress">Told what is being measured, a line per σ, curve and Hessian iteration.</param>
    public static ModelFlatness Measure(string label, string? adapter, LlamaForCausalLM model, IReadOnlyList<EncodedExample> examples, int padId,
        int microBatch, FlatnessSettings settings, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (examples.Count == 0)
            throw new ArgumentException("the flatness probe needs at least one evaluation example");
        IReadOnlyList<EncodedExample> used = settings.MaxExamples > 0 ? examples.Take(settings.MaxExamples).ToList() : examples;
        IReadOnlyList<LoraLinear> layers = LoraInjector.LoraLayers(model);
        return Measure(label, adapter, layers, () => Evaluator.Evaluate(model, used, padId, microBatch, 0, cancellationToken).Loss, settings,
            iterations => TopHessianEigenvalue.Estimate(model, layers, used, padId, microBatch, iterations, settings.Seed,
                it => progress?.Invoke($"{label}: Hessian power iteration {it.Number}/{iterations}: λ ≈ {it.Eigenvalue:G4}"), cancellationToken),
            progress);
    }

    /// <summary>
    /// The probe over any loss of the model that holds <paramref name="layers"/>: <paramref name="loss"/> evaluates it
    /// under whatever noise is switched on; <paramref name="hessian"/> (given the iteration count) estimates the top eigenvalue.
    /// </summary>
    public static ModelFlatness Measure(string label, string? adapter, IReadOnlyList<LoraLinear> layers, Func<double> loss, FlatnessSettings settings,
        Func<int, HessianEstimate>? hessian, Action<string>? progress = null)
    {
        settings.Validate(name => $"flatness.{name}");
        using var noise = new ProbeNoise(layers, settings.Seed);
        double clean = loss();
        var sharpness = new List<SharpnessEstimate>();
        foreach (double sigma in settings.Sigmas)
        {
            var deltas = new double[settings.Samples];
            for (int n = 0; n < settings.Samples; n++)
            {
                noise.Sample(n, sigma);
                deltas[n] = loss() - clean;
            }
            noise.Off();
            (double mean, double sd, double low, double high) = MeanInterval.Of(deltas);
            sharpness.Add(new SharpnessEstimate(sigma, mean, low, high, sd, deltas));
            progress?.Invoke($"{label}: σ = {sigma}: sharpness {mean:G4} (95 % CI {low:G4} to {high:G4}) over {settings.Samples} samples");
        }

        var curves = new List<LossCurve>();
        IReadOnlyList<double> alphas = settings.Alphas();
        for (int k = 0; k < settings.Directions; k++)
        {
            var losses = new double[alphas.Count];
            for (int i = 0; i < alphas.Count; i++)
            {
                noise.Direction(k, alphas[i]);
                losses[i] = loss();
            }
            noise.Off();
            curves.Add(new LossCurve(k, alphas, losses));
            progress?.Invoke($"{label}: direction {k + 1}/{settings.Directions}: loss {losses.Min():G4} to {losses.Max():G4} over α ∈ [−{settings.AlphaMax}, {settings.AlphaMax}]");
        }

        // After the noise is removed: the Hessian is taken at W' itself.
        noise.Dispose();
        HessianEstimate top = settings.HessianIterations == 0 ? HessianEstimate.Skipped("not requested")
            : hessian is null ? HessianEstimate.Skipped("not available for this loss")
            : hessian(settings.HessianIterations);
        return new ModelFlatness(label, adapter, clean, sharpness, curves, top);
    }
}
