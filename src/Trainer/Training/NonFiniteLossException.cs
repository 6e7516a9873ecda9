namespace FlatLora.Trainer.Training;

/// <summary>
/// The loss or gradient norm became NaN or infinite. Thrown before the optimizer step, so the weights and the last
/// checkpoint stay as they were.
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    public NonFiniteLossException(long step, string quantity, double value, string? lastCheckpoint)
        : base($"{quantity} is {value} at optimizer step {step}; the run stopped before updating the weights. " +
               (lastCheckpoint is null
                   ? "No checkpoint was written yet."
                   : $"The last good checkpoint is {lastCheckpoint}.") +
               " Try a lower optimizer.lr, optimizer.max_grad_norm > 0, or a smaller method.rho.")
    {
        Step = step;
        Quantity = quantity;
        Value = value;
        LastCheckpoint = lastCheckpoint;
    }

    public long Step { get; }
    public string Quantity { get; }
    public double Value { get; }
    public string? LastCheckpoint { get; }
}
