using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Experiments;

/// <summary>Persisted list of experiments and sweeps.</summary>
[GenerateSerializer]
public sealed class RegistryState
{
    [Id(0)] public List<RegistryEntry> Entries { get; set; } = [];

    /// <summary>Latest state of each experiment (not of sweeps).</summary>
    [Id(1)] public Dictionary<string, RunState> ExperimentStates { get; set; } = [];
}
