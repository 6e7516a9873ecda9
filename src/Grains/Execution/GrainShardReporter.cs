using System.Threading.Channels;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Execution;

/// <summary>
/// Forwards worker reports to seed-run grains through a queue drained by one pump task, so the trainer thread never
/// waits on a grain call and reports arrive in order. An outcome is delivered awaited and repeated until the seed run
/// has it: a seed run whose silo just died moves to another silo, and a lost outcome would make it run its trial again.
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
        // After the run's earlier reports (they are queued ahead), and on a task of its own so one seed run that is moving
        // does not hold up everyone else's reports.
        Post(job, g =>
        {
            Interlocked.Increment(ref _pending);
            _ = DeliverOutcomeAsync(g, job, outcome);
            return Task.CompletedTask;
        });
        FreeDevice(job);
    }

    // Straight to the inventory, ahead of the run's queued reports: the device is idle from now on.
    private void FreeDevice(ShardJob job)
    {
        if (job.Grant == 0 || job.Rank >= job.Peers.Count)
            return;
        try
        {
            _ = _grains.GetGrain<IClusterInventoryGrain>(0).DeviceFreedAsync(job.Peers[job.Rank], job.Grant);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReportFailed(_logger, e);   // the seed run's release frees it anyway
        }
    }

    private async Task DeliverOutcomeAsync(ISeedRunGrain seedRun, ShardJob job, ShardOutcome outcome)
    {
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    await seedRun.OnShardFinishedAsync(outcome).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is not OutOfMemoryException && attempt < OutcomeRetries)
                {
                    LogOutcomeRetry(_logger, job.RunKey, job.Rank, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 << Math.Min(attempt, 5)))).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReportFailed(_logger, e);   // given up: the seed run's heartbeat timeout covers it
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    // About a minute: longer than Orleans takes to declare a dead silo dead and move its grains.
    private const int OutcomeRetries = 40;

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "The outcome of {RunKey} rank {Rank} did not reach its seed run yet, repeating: {Error}")]
    private static partial void LogOutcomeRetry(ILogger logger, string runKey, int rank, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not deliver a shard report to its seed run")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
