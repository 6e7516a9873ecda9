using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Persisted copy of the inventory's queue and of the claims of the runs holding devices: a record of its own, written
/// lazily (at most once a second, see <see cref="InventoryQueue"/>). Claims were written with every grant once, and that
/// write was the larger half of a grant's cost. A claim lost with the last second (the inventory moved) leaves its run
/// counted as the default project's, normal and not preemptible, until it ends: never preempted by mistake.
/// </summary>
[GenerateSerializer]
public sealed class InventoryQueueState
{
    // Id 0 held the queue as first-come-first-served requests: runs stored there ask again within QueueRequestInterval.
    [Id(1)] public List<DeviceAsk> Asks { get; set; } = [];

    /// <summary>What each run holding devices was granted on (its project and priority), and whether it is being preempted.</summary>
    [Id(2)] public Dictionary<string, RunClaim> Claims { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Runs waiting for devices, oldest first by the time each first queued (the scheduler decides who goes first). The inventory writes its devices with every
/// grant, but its queue only when it changed and at most once a second: a write the size of the queue on every grant
/// is what made a cluster with thousands of queued runs slow. After the inventory moves, the copy is read back without
/// the runs that already hold devices (the device record is always current), and a run that queued in the lost second
/// rejoins at its place the next time it asks (queued runs ask again every so often).
/// </summary>
internal sealed class InventoryQueue
{
    // By place in line (queued time, then run key), so the order is the same however it was rebuilt; a sorted set so a
    // grant's removal costs log n, not a scan of thousands of waiting runs.
    private readonly SortedSet<DeviceAsk> _requests = new(Comparer<DeviceAsk>.Create((a, b) =>
    {
        int c = a.QueuedUtc.CompareTo(b.QueuedUtc);
        return c != 0 ? c : string.CompareOrdinal(a.RunKey, b.RunKey);
    }));
    private readonly Dictionary<string, DeviceAsk> _runs = new(StringComparer.Ordinal);

    // The same asks per (project, user), each in the scheduler's order within a user: it reads only their heads, so a
    // decision costs the number of users, not the length of the queue.
    private readonly Dictionary<(string Project, string User), SortedSet<DeviceAsk>> _byUser = [];

    public int Count => _requests.Count;

    /// <summary>Changed since the last <see cref="TakeSnapshot"/>.</summary>
    public bool Dirty { get; private set; }

    public IReadOnlyCollection<DeviceAsk> Asks => _requests;

    public IEnumerable<string> RunKeys => _requests.Select(r => r.RunKey);

    public bool Contains(string runKey) => _runs.ContainsKey(runKey);

    public IReadOnlyCollection<IEnumerable<DeviceAsk>> ByUser => _byUser.Values;

    private readonly Dictionary<string, (int Runs, int Devices)> _demand = new(StringComparer.Ordinal);

    /// <summary>Per project: runs waiting and the devices they ask for.</summary>
    public IReadOnlyDictionary<string, (int Runs, int Devices)> Demand => _demand;

    private void Tally(DeviceAsk ask, int sign)
    {
        (int runs, int devices) = _demand.GetValueOrDefault(ask.Project);
        (runs, devices) = (runs + sign, devices + sign * ask.Count);
        if (runs == 0)
            _demand.Remove(ask.Project);
        else
            _demand[ask.Project] = (runs, devices);
    }

    public void Restore(IEnumerable<DeviceAsk> stored, Func<string, bool> holdsDevices)
    {
        foreach (DeviceAsk request in stored.Where(r => !holdsDevices(r.RunKey)))
            Insert(request);
        Dirty = false;
    }

    /// <summary>Places the request by its queued time (then run key), so the order is the same however it was rebuilt.</summary>
    public void Insert(DeviceAsk request)
    {
        if (!_runs.TryAdd(request.RunKey, request))
            return;
        if (!_byUser.TryGetValue((request.Project, request.User), out SortedSet<DeviceAsk>? mine))
            _byUser[(request.Project, request.User)] = mine = new SortedSet<DeviceAsk>(Scheduling.AskQueues.WithinUser);
        mine.Add(request);
        Tally(request, +1);
        _requests.Add(request);
        Dirty = true;
    }

    /// <summary>Takes the run out of the queue; returns whether it was there.</summary>
    public bool Remove(string runKey)
    {
        if (_runs.Remove(runKey, out DeviceAsk? ask))
        {
            _requests.Remove(ask);
            SortedSet<DeviceAsk> mine = _byUser[(ask.Project, ask.User)];
            mine.Remove(ask);
            if (mine.Count == 0)
                _byUser.Remove((ask.Project, ask.User));
            Tally(ask, -1);
            Dirty = true;
            return true;
        }
        return false;
    }

    public List<DeviceAsk> TakeSnapshot()
    {
        Dirty = false;
        return [.. _requests];
    }
}
