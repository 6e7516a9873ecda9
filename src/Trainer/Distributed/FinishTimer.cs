namespace FlatLora.Trainer.Distributed;

/// <summary>Times <see cref="IOverlappedExchange.Finish"/>: the exchange that backward did not hide.</summary>
/// <param name="finished">Told the step's buckets, its scalar count and the time Finish took.</param>
internal sealed class FinishTimer(OverlappedStep step, Action<int, int, TimeSpan> finished) : IOverlappedExchange
{
    public void Probed(int layer) => step.Probed(layer);

    public void Reached(int layer) => step.Reached(layer);

    public void Finish(double[] scalars)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        step.Finish(scalars);
        finished(step.Buckets, scalars.Length, watch.Elapsed);
    }

    public void Dispose() => step.Dispose();
}
