using Orleans.Concurrency;

namespace FlatLora.Abstractions.Experiments;

/// <summary>What a registry entry is.</summary>
[GenerateSerializer]
public enum RegistryKind
{
    Experiment = 0,
    Sweep = 1,
}

/// <summary>An experiment or sweep known to the cluster, and its owner. (Id 1 held the kind as a string once.)</summary>
[GenerateSerializer]
public sealed record RegistryEntry(
    [property: Id(0)] string Id, [property: Id(4)] RegistryKind Kind, [property: Id(2)] string? Name, [property: Id(3)] DateTime CreatedUtc,
    [property: Id(5)] RunOwner? Owner = null)
{
    /// <summary>Its owner; entries stored before owners existed belong to <see cref="RunOwner.Local"/>.</summary>
    public RunOwner OwnedBy => Owner ?? RunOwner.Local;
}

/// <summary>The list of experiments and sweeps (key 0), for `flatlora status` without an id.</summary>
public interface IExperimentRegistryGrain : IGrainWithIntegerKey
{
    Task AddAsync(RegistryEntry entry);

    /// <summary>
    /// Adds the entry if the registry does not know it (its stored state was lost), with its current state; sent by
    /// experiments and sweeps as they activate. Idempotent.
    /// </summary>
    [OneWay]
    Task EnsureListedAsync(RegistryEntry entry, RunState runState);

    /// <summary>An experiment changed state (for the experiments-by-state gauge).</summary>
    Task OnExperimentStateAsync(string id, RunState runState);

    [ReadOnly]
    Task<IReadOnlyList<RegistryEntry>> ListAsync();

    /// <summary>One page of the entries a query may see, newest first, and how many there are in all.</summary>
    [ReadOnly]
    Task<RegistryPage> PageAsync(RegistryQuery query);
}

/// <summary>
/// Which registry entries a caller may see: everything (an admin), or those owned by <see cref="Own"/> and those of
/// <see cref="Projects"/>; a page of <see cref="Count"/> from <see cref="Offset"/>, newest first.
/// </summary>
[GenerateSerializer]
public sealed record RegistryQuery
{
    [Id(0)] public bool Everything { get; init; }
    [Id(1)] public RunOwner? Own { get; init; }
    [Id(2)] public IReadOnlyList<string> Projects { get; init; } = [];
    [Id(3)] public int Offset { get; init; }
    [Id(4)] public int Count { get; init; } = 50;

    public bool Sees(RegistryEntry entry) => Everything || entry.OwnedBy == Own || Projects.Contains(entry.OwnedBy.Project);
}

[GenerateSerializer]
public sealed record RegistryPage([property: Id(0)] IReadOnlyList<RegistryEntry> Entries, [property: Id(1)] int Total);
