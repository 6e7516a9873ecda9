namespace FlatLora.Trainer.Training;

/// <summary>
/// A run's running figures: its first loss, the final loss as the mean of the latest steps' losses (a window of a
/// tenth of the run, 1 to 10 steps), tokens per second, and an ETA from the latest step times.
/// </summary>
internal sealed class RunTally(long totalSteps)
{
    private const int EtaWindow = 20;
    private readonly int _lossWindow = (int)Math.Clamp(totalSteps / 10, 1, 10);
    private readonly Queue<double> _recentLosses = new();
    private readonly List<double> _stepSeconds = [];
    private long _tokens;

    public double FirstLoss { get; private set; } = double.NaN;

    public double FinalLoss => _recentLosses.Count == 0 ? double.NaN : _recentLosses.Average();

    public double TokensPerSecond => _stepSeconds.Count == 0 ? 0 : _tokens / _stepSeconds.Sum();

    /// <summary>A resumed run keeps the first loss of the run it continues.</summary>
    public void Resume(double firstLoss) => FirstLoss = firstLoss;

    public void Add(double loss, double seconds, long tokens)
    {
        if (double.IsNaN(FirstLoss))
            FirstLoss = loss;
        _recentLosses.Enqueue(loss);
        if (_recentLosses.Count > _lossWindow)
            _recentLosses.Dequeue();
        _stepSeconds.Add(seconds);
        _tokens += tokens;
    }

    public double EtaSeconds(long stepsLeft) => _stepSeconds.Count == 0 ? 0 : _stepSeconds.TakeLast(EtaWindow).Average() * stepsLeft;
}
