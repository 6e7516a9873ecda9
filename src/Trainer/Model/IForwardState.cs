namespace FlatLora.Trainer.Model;

/// <summary>
/// State a layer's forward reads besides its inputs (LoRA dropout's stream position). Gradient checkpointing captures
/// it when a layer runs forward and restores it for the recomputation in backward, so both see the same masks.
/// </summary>
public interface IForwardState
{
    object Capture();

    void Restore(object captured);
}
