using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Experiments;

/// <summary>Persisted list of experiments and sweeps.</summary>
[GenerateSerializer]
public sealed class RegistryState
{
    [Id(0)] public List<RegistryEntry> Entries { get; set; } = [];
}
