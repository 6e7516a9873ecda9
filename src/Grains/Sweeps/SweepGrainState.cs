using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Sweeps;

/// <summary>One configuration of a sweep, persisted.</summary>
[GenerateSerializer]
public sealed class SweepConfigurationState
{
    [Id(0)] public int Index { get; set; }
    [Id(1)] public string Label { get; set; } = "";
    [Id(2)] public List<KeyValuePair<string, string>> Overrides { get; set; } = [];
    [Id(3)] public TrainSpec? Spec { get; set; }
    [Id(4)] public string? ExperimentId { get; set; }
    [Id(5)] public RunState State { get; set; } = RunState.Pending;
}

/// <summary>Persisted state of a sweep. Never renumber an [Id]: stored state depends on it.</summary>
[GenerateSerializer]
public sealed class SweepGrainState
{
    [Id(0)] public SweepSpec? Sweep { get; set; }
    [Id(1)] public List<SweepConfigurationState> Configurations { get; set; } = [];
    [Id(2)] public RunState State { get; set; } = RunState.Pending;
    [Id(3)] public DateTime CreatedUtc { get; set; }
    [Id(4)] public bool CancelRequested { get; set; }
    [Id(5)] public Dictionary<long, List<AshaRecord>> AshaRecords { get; set; } = [];
    [Id(6)] public int EarlyStopped { get; set; }

    /// <summary>Who submitted it; null for sweeps stored before owners existed (they belong to RunOwner.Local).</summary>
    [Id(7)] public RunOwner? Owner { get; set; }
}
