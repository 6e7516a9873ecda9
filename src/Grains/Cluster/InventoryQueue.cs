using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster;

/// <summary>Persisted copy of the inventory's queue (a record of its own, written lazily; see <see cref="InventoryQueue"/>).</summary>
[GenerateSerializer]
public sealed class InventoryQueueState
{
    // Id 0 held the queue as first-come-first-served requests: runs stored there ask again within QueueRequestInterval.
    [Id(1)] public List<DeviceAsk> Asks { get; set; } = [];
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
    private readonly List<DeviceAsk> _requests = [];
    private readonly HashSet<string> _runs = new(StringComparer.Ordinal);

    public int Count => _requests.Count;

    /// <summary>Changed since the last <see cref="TakeSnapshot"/>.</summary>
    public bool Dirty { get; private set; }

    public IReadOnlyList<DeviceAsk> Asks => _requests;

    public IEnumerable<string> RunKeys => _requests.Select(r => r.RunKey);

    public bool Contains(string runKey) => _runs.Contains(runKey);

    public void Restore(IEnumerable<DeviceAsk> stored, Func<string, bool> holdsDevices)
    {
        foreach (DeviceAsk request in stored.Where(r => !holdsDevices(r.RunKey)))
            Insert(request);
        Dirty = false;
    }

    /// <summary>Places the request by its queued time (then run key), so the order is the same however it was rebuilt.</summary>
    public void Insert(DeviceAsk request)
    {
        if (!_runs.Add(request.RunKey))
            return;
        int at = _requests.FindLastIndex(r => r.QueuedUtc < request.QueuedUtc
            || (r.QueuedUtc == request.QueuedUtc && string.CompareOrdinal(r.RunKey, request.RunKey) < 0)) + 1;
        _requests.Insert(at, request);
        Dirty = true;
    }

    public void Remove(string runKey)
    {
        if (_runs.Remove(runKey))
        {
            _requests.RemoveAll(r => r.RunKey == runKey);
            Dirty = true;
        }
    }

    public List<DeviceAsk> TakeSnapshot()
    {
        Dirty = false;
        return [.. _requests];
    }
}
