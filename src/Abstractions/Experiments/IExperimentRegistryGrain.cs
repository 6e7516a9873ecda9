using Orleans.Concurrency;

namespace FlatLora.Abstractions.Experiments;

/// <summary>An experiment or sweep known to the cluster.</summary>
[GenerateSerializer]
public sealed record RegistryEntry(
    [property: Id(0)] string Id, [property: Id(1)] string Kind, [property: Id(2)] string? Name, [property: Id(3)] DateTime CreatedUtc);

/// <summary>The list of experiments and sweeps (key 0), for `flatlora status` without an id.</summary>
public interface IExperimentRegistryGrain : IGrainWithIntegerKey
{
    Task AddAsync(RegistryEntry entry);

    /// <summary>An experiment changed state (for the experiments-by-state gauge).</summary>
    Task OnExperimentStateAsync(string id, RunState runState);

    [ReadOnly]
    Task<IReadOnlyList<RegistryEntry>> ListAsync();
}
