using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Cluster;
using FlatLora.Grains.Persistence;
using FlatLora.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// The experiments and sweeps of the cluster, newest last (key 0), and the state of each experiment, which this
/// grain exports as the experiments-by-state gauge from whichever silo hosts it.
/// </summary>
[OldestSiloPlacement]
public sealed class ExperimentRegistryGrain(
    [PersistentState("registry", StorageNames.Default)] IPersistentState<RegistryState> state,
    ClusterMeter meter,
    StorageHealth storage,
    ILogger<ExperimentRegistryGrain> logger) : Grain, IExperimentRegistryGrain
{
    private async Task PersistAsync() => await state.WriteDurablyAsync(storage, "experiment registry", logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Stay active: the gauge would otherwise vanish whenever the registry is idle.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        meter.PublishExperiments(state.State.ExperimentStates.Values);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        meter.ClearExperiments();
        return Task.CompletedTask;
    }

    public async Task AddAsync(RegistryEntry entry)
    {
        if (state.State.Entries.Any(e => e.Id == entry.Id))
            return;
        state.State.Entries.Add(entry);
        await PersistAsync();
    }

    public async Task EnsureListedAsync(RegistryEntry entry, RunState runState)
    {
        bool known = state.State.Entries.Any(e => e.Id == entry.Id);
        if (known && (entry.Kind == RegistryKind.Sweep || state.State.ExperimentStates.GetValueOrDefault(entry.Id) == runState))
            return;
        if (!known)
        {
            state.State.Entries.Add(entry);
            state.State.Entries.Sort((a, b) => a.CreatedUtc.CompareTo(b.CreatedUtc));
        }
        if (entry.Kind == RegistryKind.Experiment)
            state.State.ExperimentStates[entry.Id] = runState;
        meter.PublishExperiments(state.State.ExperimentStates.Values);
        await PersistAsync();
    }

    public async Task OnExperimentStateAsync(string id, RunState runState)
    {
        if (state.State.ExperimentStates.TryGetValue(id, out RunState previous) && (previous == runState || previous.IsFinal()))
            return;
        state.State.ExperimentStates[id] = runState;
        meter.PublishExperiments(state.State.ExperimentStates.Values);
        await PersistAsync();
    }

    public Task<IReadOnlyList<RegistryEntry>> ListAsync() => Task.FromResult<IReadOnlyList<RegistryEntry>>(state.State.Entries.ToList());

    public Task<RegistryPage> PageAsync(RegistryQuery query)
    {
        // Entries are kept oldest first: walk them from the end, so a page of the newest costs its size, not the registry's.
        var page = new List<RegistryEntry>(Math.Clamp(query.Count, 0, 1000));
        int seen = 0;
        for (int i = state.State.Entries.Count - 1; i >= 0; i--)
        {
            RegistryEntry entry = state.State.Entries[i];
            if (!query.Sees(entry))
                continue;
            if (seen >= query.Offset && page.Count < query.Count)
                page.Add(entry);
            seen++;
        }
        return Task.FromResult(new RegistryPage(page, seen));
    }
}
