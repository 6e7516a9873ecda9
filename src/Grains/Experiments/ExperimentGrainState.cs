using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Experiments;

/// <summary>Persisted state of an experiment. Never renumber an [Id]: stored state depends on it.</summary>
[GenerateSerializer]
public sealed class ExperimentGrainState
{
    [Id(0)] public TrainSpec? Spec { get; set; }
    [Id(1)] public RunState State { get; set; } = RunState.Pending;
    [Id(2)] public DateTime CreatedUtc { get; set; }
    [Id(3)] public DateTime? StartedUtc { get; set; }
    [Id(4)] public DateTime? FinishedUtc { get; set; }
    [Id(5)] public string? Error { get; set; }
    [Id(6)] public Dictionary<long, SeedRunStatus> Seeds { get; set; } = [];
    [Id(7)] public bool CancelRequested { get; set; }
    [Id(8)] public string? SweepId { get; set; }
    [Id(9)] public int ConfigurationIndex { get; set; } = -1;
    [Id(10)] public string? ConfigurationLabel { get; set; }

    /// <summary>Who submitted it; null for experiments stored before owners existed (they belong to RunOwner.Local).</summary>
    [Id(11)] public RunOwner? Owner { get; set; }
}
