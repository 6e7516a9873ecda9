using FlatLora.Trainer.Data;
using FlatLora.Trainer.Determinism;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// The largest eigenvalue of ∇²L with respect to the LoRA layers' weights at W' (the Hessian in W' equals the one in
/// W, since W' = W + s·BA with A and B held fixed), by power iteration on Hessian-vector products: Hv is the gradient
/// of ⟨∇L, v⟩, which needs autograd to differentiate twice. The start vector comes from the counter RNG, so the
/// estimate is reproducible. Every operation of the forward must have a second derivative: libtorch aborts the
/// process otherwise (TorchSharp 0.107's grad does not turn that error into an exception), which is why the model's
/// fused attention is swapped for <see cref="LlamaModel.ExplicitAttention"/> here.
/// </summary>
public static class TopHessianEigenvalue
{
    /// <summary>One power iteration's estimate, for progress.</summary>
    public readonly record struct Iteration(int Number, double Eigenvalue);

    /// <summary>The estimate for a model's mean token loss over <paramref name="examples"/>.</summary>
    public static HessianEstimate Estimate(LlamaForCausalLM model, IReadOnlyList<LoraLinear> layers, IReadOnlyList<EncodedExample> examples,
        int padId, int microBatch, int iterations, long seed, Action<Iteration>? progress = null, CancellationToken cancellationToken = default)
    {
        long tokens = Math.Max(1, examples.Sum(e => (long)e.TargetCount));
        IEnumerable<Tensor> BatchLosses()
        {
            for (int start = 0; start < examples.Count; start += microBatch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (Tensor ids, Tensor targets) = BatchCollator.Collate(examples.Skip(start).Take(microBatch).ToList(), padId, model.Device);
                yield return CausalLmLoss.Sum(model.forward(ids), targets).div(tokens);
            }
        }
        bool wasTraining = model.training, wasExplicit = model.ExplicitAttention;
        model.eval();
        // libtorch's fused CPU attention has no second derivative (and aborts the process when asked for one).
        model.ExplicitAttention = true;
        try
        {
            return Estimate(layers.Select(l => l.Weight).ToList(), BatchLosses, iterations, seed, progress, cancellationToken);
        }
        finally
        {
            model.ExplicitAttention = wasExplicit;
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// The estimate for a loss that is the sum of <paramref name="batchLosses"/> (each built when enumerated, with
    /// autograd on), with respect to <paramref name="weights"/>.
    /// </summary>
    public static HessianEstimate Estimate(IReadOnlyList<Parameter> weights, Func<IEnumerable<Tensor>> batchLosses, int iterations, long seed,
        Action<Iteration>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        bool[] wasTrainable = weights.Select(w => w.requires_grad).ToArray();
        var v = new List<Tensor>();
        try
        {
            foreach (Parameter w in weights)
                w.requires_grad = true;
            long key = Seeding.Derive(seed, "flatness-hessian");
            StartVector(v, weights, key, 0);
            // Power iteration finds the eigenvalue of largest magnitude. Away from a minimum that can be negative;
            // then a second run, from a fresh start, on H − λI (whose eigenvalues are all ≥ 0) finds the largest one.
            double dominant = PowerIterate(weights, v, batchLosses, iterations, shift: 0, progress, cancellationToken);
            if (dominant >= 0)
                return new HessianEstimate(dominant, iterations, null);
            StartVector(v, weights, key, 1);
            double top = dominant + PowerIterate(weights, v, batchLosses, iterations, shift: dominant, progress, cancellationToken);
            return new HessianEstimate(top, 2 * iterations, null);
        }
        finally
        {
            foreach (Tensor t in v)
                t.Dispose();
            for (int i = 0; i < weights.Count; i++)
            {
                weights[i].requires_grad = wasTrainable[i];
                weights[i].grad = null;
            }
        }
    }

    private static void StartVector(List<Tensor> v, IReadOnlyList<Parameter> weights, long key, uint phase)
    {
        foreach (Tensor t in v)
            t.Dispose();
        v.Clear();
        for (int l = 0; l < weights.Count; l++)
            v.Add(NoiseFill.StandardNormal(new CounterNormal(key, (uint)l, phase), weights[l].shape[0], weights[l].shape[1]).to(weights[l].device));
    }

    // Rayleigh quotients of (H − shift·I) along the iterates from v (normalised, left as the last iterate).
    private static double PowerIterate(IReadOnlyList<Parameter> weights, List<Tensor> v, Func<IEnumerable<Tensor>> batchLosses, int iterations,
        double shift, Action<Iteration>? progress, CancellationToken cancellationToken)
    {
        Normalize(v);
        double eigenvalue = double.NaN;
        for (int it = 1; it <= iterations; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            List<Tensor> hv = HessianVectorProduct(weights, v, batchLosses);
            for (int i = 0; i < hv.Count; i++)
                hv[i].add_(v[i], alpha: -shift);
            eigenvalue = Dot(v, hv);   // ‖v‖ = 1
            for (int i = 0; i < v.Count; i++)
            {
                v[i].copy_(hv[i]);
                hv[i].Dispose();
            }
            Normalize(v);
            progress?.Invoke(new Iteration(it, eigenvalue + shift));
        }
        return eigenvalue;
    }

    // Σ over batches of ∇⟨∇L_b, v⟩.
    private static List<Tensor> HessianVectorProduct(IReadOnlyList<Parameter> weights, List<Tensor> v, Func<IEnumerable<Tensor>> batchLosses)
    {
        var sum = v.Select(t => zeros_like(t, dtype: float32).DetachFromDisposeScope()).ToList();
        IList<Tensor> inputs = weights.Cast<Tensor>().ToList();
        using var grad = enable_grad();
        using IEnumerator<Tensor> batches = batchLosses().GetEnumerator();
        while (true)
        {
            using var scope = NewDisposeScope();
            if (!batches.MoveNext())
                break;
            // retain_graph as PyTorch defaults it with create_graph: the second grad walks this graph again.
            IList<Tensor> g = autograd.grad([batches.Current], inputs, retain_graph: true, create_graph: true);
            Tensor dot = g.Select((gi, i) => (gi.to(float32) * v[i]).sum()).Aggregate((a, b) => a + b);
            IList<Tensor> hv = autograd.grad([dot], inputs);
            for (int i = 0; i < sum.Count; i++)
                sum[i].add_(hv[i].detach().to(float32));
        }
        return sum;
    }

    private static double Dot(List<Tensor> a, List<Tensor> b)
    {
        using var scope = NewDisposeScope();
        return a.Select((t, i) => (t * b[i]).sum().item<float>()).Sum(x => (double)x);
    }

    private static void Normalize(List<Tensor> v)
    {
        double norm = Math.Sqrt(Dot(v, v));
        if (norm == 0 || !double.IsFinite(norm))
            throw new InvalidOperationException($"the Hessian power iteration reached a vector of norm {norm}");
        foreach (Tensor t in v)
            t.div_(norm);
    }
}
