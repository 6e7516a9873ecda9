namespace FlatLora.Grains.Experiments;

/// <summary>A grain timer that is either running or not: starting a running one or stopping a stopped one does nothing.</summary>
internal sealed class GrainTimerSlot
{
    private IGrainTimer? _timer;

    public void Start(Func<IGrainTimer> register) => _timer ??= register();

    public void Stop()
    {
        _timer?.Dispose();
        _timer = null;
    }
}
