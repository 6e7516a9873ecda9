using System.Collections.Concurrent;

namespace FlatLora.Grains.Persistence;

/// <summary>One thing that went wrong with a grain's stored state on this silo.</summary>
/// <param name="Restored">The grain wrote its state back (from memory); false while writes still fail.</param>
public sealed record StorageIncident(DateTime Utc, string Grain, string What, bool Restored);

/// <summary>
/// What this silo's grains saw go wrong with storage: records that vanished or changed behind their back (a Redis
/// restarted without persistence, say), restored from the grains' memory, and writes that keep failing. /health and
/// `flatlora cluster` report it; nothing here decides anything.
/// </summary>
public sealed class StorageHealth
{
    private const int Kept = 64;
    private readonly ConcurrentQueue<StorageIncident> _incidents = new();
    private readonly ConcurrentDictionary<string, StorageIncident> _failing = new(StringComparer.Ordinal);

    public void Restored(string grain, string what) => Add(new StorageIncident(DateTime.UtcNow, grain, what, Restored: true));

    public void Failing(string grain, string what)
    {
        var incident = new StorageIncident(DateTime.UtcNow, grain, what, Restored: false);
        _failing[grain] = incident;
        Add(incident);
    }

    public void Succeeded(string grain) => _failing.TryRemove(grain, out _);

    /// <summary>Grains whose latest write failed.</summary>
    public IReadOnlyList<StorageIncident> FailingNow => [.. _failing.Values.OrderBy(i => i.Utc)];

    public IReadOnlyList<StorageIncident> Since(DateTime utc) => [.. _incidents.Where(i => i.Utc >= utc)];

    /// <summary>How long a restored record keeps the silo "degraded": long enough for an operator to notice.</summary>
    public static readonly TimeSpan DegradedFor = TimeSpan.FromMinutes(15);

    /// <summary>Unhealthy while writes fail; degraded for a while after state was lost and restored; healthy otherwise.</summary>
    public (StorageStatus Status, string Detail) Assess(DateTime now)
    {
        if (FailingNow is { Count: > 0 } failing)
            return (StorageStatus.Unhealthy, $"{failing.Count} grain(s) cannot write their state, e.g. {failing[0].Grain}: {failing[0].What}");
        var restored = Since(now - DegradedFor).Where(i => i.Restored).ToList();
        if (restored.Count > 0)
            return (StorageStatus.Degraded, $"{restored.Count} grain state record(s) lost or changed in storage in the last {DegradedFor.TotalMinutes:F0} min " +
                $"and restored from memory, latest {restored[^1].Grain} at {restored[^1].Utc:u}: {restored[^1].What}");
        return (StorageStatus.Healthy, "grain storage healthy");
    }

    private void Add(StorageIncident incident)
    {
        _incidents.Enqueue(incident);
        while (_incidents.Count > Kept && _incidents.TryDequeue(out _))
        {
        }
    }
}

public enum StorageStatus
{
    Healthy,
    Degraded,
    Unhealthy,
}
