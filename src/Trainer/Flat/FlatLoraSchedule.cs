namespace FlatLora.Trainer.Flat;

/// <summary>
/// The paper's noise schedule σ_t = ρ·½(1 − cos(π·t/T)): zero at the first optimizer step, rising to ρ at the end.
/// t counts optimizer steps from 0 and T is the total number of optimizer steps. σ scales the standard deviation.
/// </summary>
public static class FlatLoraSchedule
{
    public static double Sigma(double rho, long step, long totalSteps)
    {
        if (totalSteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total optimizer steps must be positive");
        double progress = Math.Clamp((double)step / totalSteps, 0, 1);
        return rho * 0.5 * (1 - Math.Cos(Math.PI * progress));
    }
}
