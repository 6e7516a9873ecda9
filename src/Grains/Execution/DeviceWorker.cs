using System.Collections.Concurrent;
using FlatLora.Abstractions.Cluster;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Execution;

/// <summary>
/// The dedicated thread of one device: runs one shard job at a time, off the Orleans scheduler, with a heartbeat
/// every few seconds. Grains only post jobs and cancellations to it and never wait for it: a retry of a run whose
/// previous attempt is still stopping is held here and starts when the device is free.
/// </summary>
public sealed partial class DeviceWorker : IDisposable
{
    private readonly BlockingCollection<ShardJob> _jobs = new();   // at most one: _current guards it
    private readonly object _gate = new();
    private readonly IShardJobRunner _runner;
    private readonly IShardReporter _reporter;
    private readonly TimeSpan _heartbeatInterval;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private ShardJob? _current;
    private ShardJob? _waiting;   // the next attempt of the current run, started once the current one has stopped
    private CancellationTokenSource? _cancel;
    private long _lastHeartbeatTicks;

    public DeviceWorker(string device, IShardJobRunner runner, IShardReporter reporter, TimeSpan heartbeatInterval, ILogger logger)
    {
        Device = device;
        _runner = runner;
        _reporter = reporter;
        _heartbeatInterval = heartbeatInterval;
        _logger = logger;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"flatlora-{device}" };
        _thread.Start();
    }

    public string Device { get; }

    public ShardJob? Current
    {
        get
        {
            lock (_gate)
                return _current;
        }
    }

    /// <summary>When the device thread's heartbeat timer last fired for the running job (written on the timer thread).</summary>
    public DateTime? LastHeartbeatUtc
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastHeartbeatTicks);
            return ticks == 0 ? null : new DateTime(ticks, DateTimeKind.Utc);
        }
    }

    /// <summary>
    /// Starts the job unless the device runs another run (<paramref name="busyWith"/> names it). A newer attempt of the
    /// running run cancels the old one and waits for it to stop; a repeated start is fine; an older attempt is refused.
    /// </summary>
    public bool TryStart(ShardJob job, out string? busyWith)
    {
        lock (_gate)
        {
            busyWith = _current?.RunKey;
            if (_current is not null)
            {
                if (_current.RunKey != job.RunKey || _current.Attempt > job.Attempt)
                    return false;
                if (_current.Attempt < job.Attempt && (_waiting is null || _waiting.Attempt < job.Attempt))
                {
                    _waiting = job;
                    _cancel?.Cancel();
                }
                return true;
            }
            Begin(job);
        }
        return true;
    }

    // Under _gate.
    private void Begin(ShardJob job)
    {
        _current = job;
        _cancel = new CancellationTokenSource();
        _jobs.Add(job);
    }

    /// <summary>Asks the running job of <paramref name="runKey"/> to stop at its next micro-batch boundary (and drops a waiting retry of it).</summary>
    public bool Cancel(string runKey)
    {
        lock (_gate)
        {
            if (_waiting?.RunKey == runKey)
                _waiting = null;
            if (_current?.RunKey != runKey)
                return false;
            _cancel?.Cancel();
            return true;
        }
    }

    private void Loop()
    {
        foreach (ShardJob job in _jobs.GetConsumingEnumerable())
        {
            CancellationToken token;
            lock (_gate)
                token = _cancel!.Token;
            LogStarted(_logger, Device, job.RunKey, job.Rank, job.Attempt);
            ShardOutcome outcome;
            // The first beat after one interval: the seed run has just started the job and knows it is alive.
            Beat(job, report: false);
            using (var heartbeat = new Timer(_ => Beat(job), null, _heartbeatInterval, _heartbeatInterval))
            {
                try
                {
                    outcome = _runner.Run(job, Device, _reporter, token);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The trace is the silo log's, with the run; the run's error, which users see, is one line.
                    LogCrashed(_logger, e, Device, job.RunKey, job.Rank);
                    outcome = new ShardOutcome
                    {
                        Attempt = job.Attempt, Rank = job.Rank, Device = Device, Result = ShardResult.Failed,
                        Error = $"unexpected failure on {Device} ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}); the silo's log has the details under {job.RunKey}",
                    };
                }
            }
            if (outcome.Error is { } error)
                LogFailed(_logger, Device, job.RunKey, job.Rank, outcome.Result, error);
            else
                LogFinished(_logger, Device, job.RunKey, outcome.Result);
            Report(() => _reporter.Finished(job, outcome));
            lock (_gate)
            {
                _current = null;
                _cancel?.Dispose();
                _cancel = null;
                if (_waiting is { } next && !_jobs.IsAddingCompleted)
                    Begin(next);
                _waiting = null;
            }
        }
    }

    /// <summary>Cancels the running job (it checkpoints and stops at its next micro-batch) and drops a waiting one.</summary>
    public void CancelCurrent()
    {
        lock (_gate)
        {
            _waiting = null;
            _cancel?.Cancel();
        }
    }

    /// <summary>Waits until no job runs, or the timeout passes.</summary>
    public async Task WaitIdleAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Current is not null && DateTime.UtcNow < deadline)
            await Task.Delay(50).ConfigureAwait(false);
    }

    private void Beat(ShardJob job, bool report = true)
    {
        Interlocked.Exchange(ref _lastHeartbeatTicks, DateTime.UtcNow.Ticks);
        if (report)
            Report(() => _reporter.Heartbeat(job));
    }

    // Reporting must never take the device thread (or the process) down, e.g. while the silo shuts down.
    private void Report(Action report)
    {
        try
        {
            report();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogReportFailed(_logger, Device, e.Message);
        }
    }

    public void Dispose()
    {
        lock (_gate)
            _cancel?.Cancel();
        _jobs.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(30));
        _jobs.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device}: could not report: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string device, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Device}: starting {RunKey} rank {Rank} attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, string device, string runKey, int rank, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Device}: {RunKey} ended {Result}")]
    private static partial void LogFinished(ILogger logger, string device, string runKey, ShardResult result);

    // The rank's own account of a failure, where it happened: its seed run may be on a silo this one cannot reach.
    [LoggerMessage(Level = LogLevel.Error, Message = "Device {Device}: {RunKey} rank {Rank} crashed")]
    private static partial void LogCrashed(ILogger logger, Exception exception, string device, string runKey, int rank);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device}: {RunKey} rank {Rank} ended {Result}: {Error}")]
    private static partial void LogFailed(ILogger logger, string device, string runKey, int rank, ShardResult result, string error);
}
