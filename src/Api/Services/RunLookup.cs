using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;

namespace FlatLora.Api.Services;

/// <summary>
/// Which kind of run an id names and who owns it, from the run's own grain (ids start "exp-" or "sweep-"; an id of
/// neither form is tried as both). Throws <see cref="KeyNotFoundException"/> naming the id.
/// </summary>
public sealed class RunLookup(IGrainFactory grains)
{
    public async Task<(RegistryKind Kind, RunOwner Owner)> FindAsync(string id)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new ArgumentException("id: give an experiment or sweep id (see `flatlora status`)");
        bool sweepFirst = id.StartsWith("sweep-", StringComparison.Ordinal);
        foreach (RegistryKind kind in sweepFirst ? new[] { RegistryKind.Sweep, RegistryKind.Experiment } : [RegistryKind.Experiment, RegistryKind.Sweep])
        {
            try
            {
                return kind == RegistryKind.Sweep
                    ? (kind, (await grains.GetGrain<ISweepGrain>(id).GetStatusAsync().ConfigureAwait(false)).Owner)
                    : (kind, (await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync().ConfigureAwait(false)).Owner);
            }
            catch (KeyNotFoundException)
            {
            }
        }
        throw new KeyNotFoundException($"the cluster knows no experiment or sweep '{id}' (see `flatlora status`)");
    }

    public async Task<ExperimentStatus> ExperimentAsync(string id)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new ArgumentException("id: give an experiment id (see `flatlora status`)");
        try
        {
            return await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync().ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            throw new KeyNotFoundException($"the cluster knows no experiment '{id}' (see `flatlora status`)");
        }
    }

    public async Task<SweepStatus> SweepAsync(string id)
    {
        if (string.IsNullOrWhiteSpace(id))
            throw new ArgumentException("id: give a sweep id (see `flatlora status`)");
        try
        {
            return await grains.GetGrain<ISweepGrain>(id).GetStatusAsync().ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            throw new KeyNotFoundException($"the cluster knows no sweep '{id}' (see `flatlora status`)");
        }
    }
}
