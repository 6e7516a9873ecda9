namespace FlatLora.Trainer.Methods;

/// <summary>Plain LoRA: nothing happens around a step.</summary>
public sealed class PlainLoraMethod : ITrainingMethod
{
    public static readonly PlainLoraMethod Instance = new();

    private PlainLoraMethod()
    {
    }

    public double BeginStep(long step) => 0;

    public void EndStep()
    {
    }

    public ulong ConsistencyHash(long step) => 0;

    public void ThrowIfBackwardFaulted()
    {
    }

    public void Dispose()
    {
    }
}
