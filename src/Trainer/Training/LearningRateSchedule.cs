using FlatLora.Spec;

namespace FlatLora.Trainer.Training;

/// <summary>
/// Linear warmup, then cosine, linear or constant decay to <c>min_lr_ratio</c>·lr, as Hugging Face's schedulers
/// (step 0 of a warmup runs at lr 0). Pure function of the step, so a resumed run needs no scheduler state.
/// </summary>
public static class LearningRateSchedule
{
    public static long WarmupSteps(OptimizerSpec spec, long totalSteps) =>
        spec.WarmupSteps ?? (long)Math.Ceiling(spec.WarmupRatio * totalSteps);

    public static double At(OptimizerSpec spec, long step, long totalSteps)
    {
        long warmup = WarmupSteps(spec, totalSteps);
        if (step < warmup)
            return spec.Lr * step / Math.Max(1, warmup);
        double progress = Math.Clamp((double)(step - warmup) / Math.Max(1, totalSteps - warmup), 0, 1);
        double decay = spec.Schedule switch
        {
            "cosine" => 0.5 * (1 + Math.Cos(Math.PI * progress)),
            "linear" => 1 - progress,
            "constant" => 1,
            _ => throw new ArgumentException($"unknown schedule '{spec.Schedule}'", nameof(spec)),
        };
        return spec.Lr * (spec.MinLrRatio + (1 - spec.MinLrRatio) * decay);
    }
}
