using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Experiments;

/// <summary>The experiments and sweeps of the cluster, newest last (key 0).</summary>
public sealed class ExperimentRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<RegistryState> state) : Grain, IExperimentRegistryGrain
{
    public async Task AddAsync(RegistryEntry entry)
    {
        if (state.State.Entries.Any(e => e.Id == entry.Id))
            return;
        state.State.Entries.Add(entry);
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<RegistryEntry>> ListAsync() => Task.FromResult<IReadOnlyList<RegistryEntry>>(state.State.Entries.ToList());
}
