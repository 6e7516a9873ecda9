using Orleans.Concurrency;

namespace FlatLora.Abstractions.Experiments;

/// <summary>What a registry entry is.</summary>
[GenerateSerializer]
public enum RegistryKind
{
    Experiment = 0,
    Sweep = 1,
}

/// <summary>An experiment or sweep known to the cluster. (Id 1 held the kind as a string once.)</summary>
[GenerateSerializer]
public sealed record RegistryEntry(
    [property: Id(0)] string Id, [property: Id(4)] RegistryKind Kind, [property: Id(2)] string? Name, [property: Id(3)] DateTime CreatedUtc);

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
}
