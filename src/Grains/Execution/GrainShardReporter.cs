using System.Threading.Channels;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Execution;

/// <summary>
/// Forwards worker reports to seed-run grains through a queue drained by one pump task, so the trainer thread never
/// waits on a grain call and reports arrive in order.
/// </summary>
public sealed partial class GrainShardReporter : IShardReporter, IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly TrainingMeter _meter;
    private readonly ILogger<GrainShardReporter> _logger;
    private readonly Dictionary<string, long> _lastStep = [];
    private readonly Channel<Func<Task>> _queue = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _pump;
    private long _pending;   // queued or being delivered (a single-reader channel cannot count its items)

    public GrainShardReporter(IGrainFactory grains, TrainingMeter meter, ILogger<GrainShardReporter> logger)
    {
        _grains = grains;
        _meter = meter;
        _logger = logger;
        _pump = Task.Run(PumpAsync);
    }

    public void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint)
    {
        if (progress.Kind == ProgressKind.Step)
        {
            string run = $"{job.RunKey}#{job.Rank}";
            lock (_lastStep)
            {
                long previous = _lastStep.TryGetValue(run, out long p) ? p : 0;
                _meter.Record(job, progress, progress.Step - previous);
                _lastStep[run] = progress.Step;
            }
        }
        else
        {
            _meter.Record(job, progress, 0);
        }
        Post(job, g => g.OnShardProgressAsync(new ShardProgress(job.Attempt, progress, lastCheckpoint)));
    }

    public void Heartbeat(ShardJob job) => Post(job, g => g.OnShardHeartbeatAsync(job.Attempt, job.Rank));

    public void Finished(ShardJob job, ShardOutcome outcome)
    {
        lock (_lastStep)
            _lastStep.Remove($"{job.RunKey}#{job.Rank}");
        _meter.Finished(job, outcome);
        Post(job, g => g.OnShardFinishedAsync(outcome));
    }

    private void Post(ShardJob job, Func<ISeedRunGrain, Task> call)
    {
        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(() => call(_grains.GetGrain<ISeedRunGrain>(job.RunKey))))
            Interlocked.Decrement(ref _pending);   // the reporter is shutting down
    }

    /// <summary>Waits until every queued report has been delivered (or failed), or the timeout passes.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Interlocked.Read(ref _pending) > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(20).ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        await foreach (Func<Task> call in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await call().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A lost report is survivable (heartbeats and outcomes recover the state); the run must not die of it.
                LogReportFailed(_logger, e);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _pump.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not deliver a shard report to its seed run")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
