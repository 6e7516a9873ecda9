using System.Collections.Concurrent;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// What the simulated devices of a cluster benchmark saw, recorded off the grains: every execution of every trial (to
/// find trials that ran twice), when each device last finished a job and when the inventory heard its run release it,
/// and how long each device then waited for its next grant while runs were queued.
/// </summary>
public sealed partial class BenchLedger
{
    private readonly ConcurrentDictionary<string, Trial> _trials = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime> _freedUtc = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime> _releasedUtc = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _lastDeviceOfRun = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Placement> _placementMs = new();
    private readonly ConcurrentQueue<double> _schedulingMs = new();
    private readonly ConcurrentDictionary<string, DateTime> _reportSentUtc = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<double> _reportIssueMs = new(), _reportTransitMs = new();
    private readonly ConcurrentDictionary<string, DateTime> _lastSentUtc = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SlowPlacement> _slow = new();
    private long _lastGrantTicks;
    private readonly ConcurrentDictionary<string, DateTime> _firstQueuedUtc = new(StringComparer.Ordinal);

    private sealed class Trial
    {
        public int Active;
        public int MostActive;
        public int Completed;
        public int Executions;
        public DateTime? FirstStartUtc;
        public DateTime StartUtc;
        public int HighestStep;
        public int CheckpointStep;
        public bool LastEndKilled;
    }

    private readonly ConcurrentQueue<(string RunKey, DateTime Start, DateTime End)> _holds = new();

    public void Started(string runKey)
    {
        Trial trial = _trials.GetOrAdd(runKey, _ => new Trial());
        lock (trial)
        {
            trial.Executions++;
            trial.Active++;
            trial.MostActive = Math.Max(trial.MostActive, trial.Active);
            trial.StartUtc = DateTime.UtcNow;
            trial.FirstStartUtc ??= trial.StartUtc;
        }
    }

    /// <summary>Trials of the project (experiment ids "{project}-…") on a device now.</summary>
    public int Holding(string project) => _trials.Count(t => t.Key.StartsWith(project + "-", StringComparison.Ordinal) && t.Value.Active > 0);

    /// <summary>When the trial first started on a device (null: never).</summary>
    public DateTime? FirstStartUtc(string runKey) => _trials.TryGetValue(runKey, out Trial? t) ? t.FirstStartUtc : null;

    /// <summary>Every execution's hold of its device: run, start, end.</summary>
    public IReadOnlyList<(string RunKey, DateTime Start, DateTime End)> Holds => [.. _holds];

    /// <param name="deviceFree">False when the job ended because its silo died: no placement starts from it.</param>
    public void Ended(string runKey, string shardKey, bool deviceFree = true)
    {
        Trial trial = _trials[runKey];
        DateTime start;
        lock (trial)
        {
            trial.Active--;
            start = trial.StartUtc;
        }
        _holds.Enqueue((runKey, start, DateTime.UtcNow));
        if (!deviceFree)
            return;
        _freedUtc[shardKey] = DateTime.UtcNow;
        _lastDeviceOfRun[runKey] = shardKey;
    }

    /// <summary>The inventory received a run's request for devices (only its first counts: the run is queued from then on).</summary>
    public void Queued(string runKey) => _firstQueuedUtc.TryAdd(runKey, DateTime.UtcNow);

    /// <summary>When the last run first reached the inventory's queue (null: none did).</summary>
    public DateTime? AllQueuedUtc => _firstQueuedUtc.IsEmpty ? null : _firstQueuedUtc.Values.Max();

    public int QueuedRuns => _firstQueuedUtc.Count;

    /// <summary>The inventory received the run's release: from here on, the wait for a grant is the scheduler's alone.</summary>
    public void Released(string runKey)
    {
        if (_lastDeviceOfRun.TryRemove(runKey, out string? shardKey))
            DeviceFreed(shardKey);
    }

    /// <summary>The device's silo sent the inventory word that the device's job ended.</summary>
    public void DeviceFreeSent(string shardKey)
    {
        DateTime now = DateTime.UtcNow;
        if (_freedUtc.TryGetValue(shardKey, out DateTime ended))
        {
            _reportSentUtc[shardKey] = now;
            _lastSentUtc[shardKey] = now;
            _reportIssueMs.Enqueue((now - ended).TotalMilliseconds);
        }
    }

    /// <summary>The inventory heard from the device's silo that its job ended (usually before the run's release).</summary>
    public void DeviceFreed(string shardKey)
    {
        DateTime now = DateTime.UtcNow;
        if (_reportSentUtc.TryRemove(shardKey, out DateTime sent))
            _reportTransitMs.Enqueue((now - sent).TotalMilliseconds);
        if (_freedUtc.ContainsKey(shardKey))   // not granted again yet (a release that follows a grant is no news)
            _releasedUtc.TryAdd(shardKey, now);
    }

    /// <summary>Job end to the device's silo sending the "freed" report, and that report's way into an inventory turn.</summary>
    public IReadOnlyList<double> ReportIssueMs => [.. _reportIssueMs];
    public IReadOnlyList<double> ReportTransitMs => [.. _reportTransitMs];

    /// <summary>
    /// A live silo reported a completion to the trial's seed run. A job that finished as its silo died reports nothing,
    /// and running it again is the only right thing to do; a second reported completion is a trial run twice.
    /// </summary>
    public void ReportedCompleted(string runKey)
    {
        Trial trial = _trials[runKey];
        lock (trial)
            trial.Completed++;
    }

    /// <summary>The inventory sent a grant including this device: if it had finished a job, that wait is a placement latency.</summary>
    public void Granted(string shardKey)
    {
        DateTime now = DateTime.UtcNow;
        Interlocked.Exchange(ref _lastGrantTicks, now.Ticks);
        bool placed = _freedUtc.TryRemove(shardKey, out DateTime freed);
        bool sent = _lastSentUtc.TryRemove(shardKey, out DateTime sentUtc);
        bool heard = _releasedUtc.TryRemove(shardKey, out DateTime released);
        if (!placed)
            return;
        double ms = (now - freed).TotalMilliseconds;
        _placementMs.Enqueue(new Placement(now, ms));
        if (heard)
            _schedulingMs.Enqueue((now - released).TotalMilliseconds);
        if (ms > SlowMs)
            _slow.Enqueue(new SlowPlacement(shardKey, now, ms, sent ? (sentUtc - freed).TotalMilliseconds : null, heard ? (released - freed).TotalMilliseconds : null));
    }

    private const double SlowMs = 50;

    /// <summary>Every placement over the 50 ms target, with where its time went.</summary>
    public IReadOnlyList<SlowPlacement> SlowPlacements => [.. _slow];

    /// <summary>A silo was killed: its devices' last jobs say nothing about placement once it is back.</summary>
    public void Forget(string silo)
    {
        foreach (string key in _freedUtc.Keys.Where(k => k.StartsWith(silo + "/", StringComparison.Ordinal)).ToList())
            _freedUtc.TryRemove(key, out _);
        foreach (string key in _releasedUtc.Keys.Where(k => k.StartsWith(silo + "/", StringComparison.Ordinal)).ToList())
            _releasedUtc.TryRemove(key, out _);
        foreach (string key in _lastSentUtc.Keys.Where(k => k.StartsWith(silo + "/", StringComparison.Ordinal)).ToList())
            _lastSentUtc.TryRemove(key, out _);
    }

    private readonly ConcurrentDictionary<string, (long Calls, long Ticks)> _inventoryTurns = new(StringComparer.Ordinal);

    /// <summary>One call into the inventory grain ended (its await included: a call that waits on a write counts that wait).</summary>
    public void InventoryTurn(string method, TimeSpan took) =>
        _inventoryTurns.AddOrUpdate(method, (1, took.Ticks), (_, t) => (t.Calls + 1, t.Ticks + took.Ticks));

    /// <summary>Per inventory method: calls and total seconds inside it.</summary>
    public IReadOnlyDictionary<string, InventoryTurns> InventoryTurns =>
        _inventoryTurns.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => new InventoryTurns(t.Value.Calls, TimeSpan.FromTicks(t.Value.Ticks).TotalSeconds));

    public DateTime LastGrantUtc => new(Interlocked.Read(ref _lastGrantTicks), DateTimeKind.Utc);

    /// <summary>Job end to next grant: the report to the seed run, its release to the inventory, and the scheduling.</summary>
    public IReadOnlyList<Placement> Placements => [.. _placementMs];

    /// <summary>The inventory's receipt of a release to its next grant of the device.</summary>
    public IReadOnlyList<double> SchedulingMs => [.. _schedulingMs];

    /// <summary>Trials that completed more than once, or ran on two devices at the same time.</summary>
    public IReadOnlyList<string> RunTwice => [.. _trials.Where(t => t.Value.Completed > 1 || t.Value.MostActive > 1).Select(t => t.Key).Order(StringComparer.Ordinal)];

    public int Executions => _trials.Values.Sum(t => t.Executions);
}

/// <summary>Calls into the inventory grain of one method, and the seconds they took in all.</summary>
public sealed record InventoryTurns(long Calls, double Seconds);

/// <summary>A device's wait from the end of one job to its grant to the next run, and when that grant went out.</summary>
public readonly record struct Placement(DateTime GrantedUtc, double Milliseconds);

/// <summary>
/// A placement over target, split: job end to its silo sending "freed" (null: never sent, e.g. the device's silo could
/// not reach the inventory), job end to the inventory hearing of it (the report or the run's release; null: neither
/// came before the grant), and job end to the grant.
/// </summary>
public sealed record SlowPlacement(string Device, DateTime GrantedUtc, double Milliseconds, double? SentMs, double? HeardMs);
