using FlatLora.Abstractions.Experiments;
using Orleans.Concurrency;

namespace FlatLora.Abstractions.Sweeps;

/// <summary>
/// A sweep (key: sweep id): expands its grid and random search into experiments, runs at most max_concurrent at a
/// time, applies successive halving on reported evals, and aggregates mean ± std per configuration with Welch
/// t-tests between the compared arms.
/// </summary>
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>Validates and expands (throws SpecException listing every bad field or configuration; nothing is stored).</summary>
    Task<SweepStatus> SubmitAsync(SweepRequest request);

    [AlwaysInterleave]
    Task<SweepStatus> GetStatusAsync();

    Task<SweepResults> GetResultsAsync();

    /// <summary>Cancels the sweep: nothing more is launched and every launched experiment is cancelled.</summary>
    Task CancelAsync();

    [OneWay]
    Task OnExperimentFinishedAsync(int configurationIndex, ExperimentStatus status);
}
