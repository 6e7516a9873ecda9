using FlatLora.Abstractions.Cluster;
using Orleans.Concurrency;

namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// One seeded run of an experiment (key "{experiment}/{seed}"): owns its seed, its device assignment (ranks), its
/// latest checkpoint and its retries. It is the unit resumed after a failure.
/// </summary>
public interface ISeedRunGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the run once (persisted and queued for devices when this returns); a repeated start only repeats the
    /// seed's status to its experiment, and a start after a cancel starts nothing. Awaited: the experiment starts a few
    /// seeds at a time, and keeps starting the ones that have not answered.
    /// </summary>
    Task StartAsync(SeedRunPlan plan);

    /// <summary>Cancels for good (persisted first); a cancel that arrives before the start wins over it.</summary>
    [OneWay]
    Task CancelAsync(string reason, bool stopped = false);

    [AlwaysInterleave]
    Task<SeedRunStatus> GetStatusAsync();

    /// <summary>
    /// Someone suspects the run is stranded (a device granted to it stays idle, or its experiment has not heard from it):
    /// a queued run asks for its devices again, an ended one repeats its release and its end. Activating it also
    /// restarts its timers after its silo died.
    /// </summary>
    [OneWay]
    Task WakeAsync();

    /// <summary>The inventory grants the devices this run asked for (one per rank).</summary>
    [OneWay]
    Task OnDevicesGrantedAsync(IReadOnlyList<DeviceInfo> devices);

    [OneWay]
    Task OnShardProgressAsync(ShardProgress progress);

    /// <summary>A rank is alive (sent every few seconds while it trains, even between steps).</summary>
    [OneWay]
    Task OnShardHeartbeatAsync(int attempt, int rank);

    /// <summary>A rank's outcome, awaited: the silo of the rank repeats it until the seed run has it (see GrainShardReporter).</summary>
    Task OnShardFinishedAsync(ShardOutcome outcome);

    /// <summary>
    /// The scheduler takes the run's devices back: it checkpoints at its next optimizer-step boundary, releases them and
    /// queues again at its old place, as <see cref="RunState.Preempted"/>. Repeats are ignored; a run that is not
    /// running ignores it.
    /// </summary>
    [OneWay]
    Task PreemptAsync(string reason);

    /// <summary>A device of this run left the cluster (its silo died).</summary>
    [OneWay]
    Task OnDeviceLostAsync(DeviceInfo device, string reason);
}
