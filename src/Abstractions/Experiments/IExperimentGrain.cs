using Orleans.Concurrency;

namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// One experiment: a validated spec run once per seed. Key: the experiment id. Lifecycle Pending → Queued →
/// Running → Completed | Failed | Cancelled, persisted in grain storage. Watchers follow it on its progress stream
/// (<see cref="ProgressStreams"/>, <see cref="ProgressWatch"/>).
/// </summary>
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Validates the spec (throws <see cref="FlatLora.Spec.SpecException"/> with every bad field; nothing is stored), persists it and queues its seeds.</summary>
    Task<ExperimentStatus> SubmitAsync(ExperimentRequest request);

    [AlwaysInterleave]
    Task<ExperimentStatus> GetStatusAsync();

    Task<ExperimentResults> GetResultsAsync();

    /// <summary>The validated spec the experiment runs (for merged export and reruns).</summary>
    [AlwaysInterleave]
    Task<FlatLora.Spec.TrainSpec> GetSpecAsync();

    /// <summary>
    /// Creates the experiment unless it exists (a sweep's one-way launch: the sweep checked the spec, and repeats the
    /// launch until the experiment answers). A cancel that arrived first wins: the experiment is created cancelled.
    /// </summary>
    [OneWay]
    Task StartAsync(ExperimentRequest request);

    /// <summary>Cancels every seed still queued or running (their last checkpoints are kept); persisted before anything else.</summary>
    Task CancelAsync();

    /// <summary>Stops one seed early (successive halving); it ends as Stopped.</summary>
    Task StopSeedAsync(long seed, string reason);

    [OneWay]
    Task OnSeedStatusAsync(SeedRunStatus status);

    /// <summary>A seed's end, awaited: the seed repeats it until this returns, so an end is never lost with a dying silo.</summary>
    Task OnSeedEndedAsync(SeedRunStatus status);
}
