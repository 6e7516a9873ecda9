namespace FlatLora.Grains.Bench;

/// <summary>`flatlora bench cluster`: how big a cluster, how many trials, how many silo kills.</summary>
public sealed record ClusterBenchmarkOptions
{
    public int Silos { get; init; } = 16;
    public int DevicesPerSilo { get; init; } = 8;
    public int Trials { get; init; } = 10_000;

    /// <summary>Silos killed (each restarted a while later) during the run; the primary silo, which holds the membership table, is never one.</summary>
    public int KillSilos { get; init; } = 4;

    /// <summary>
    /// Each job holds its device for a seeded time in [shortest, longest]. The default, 0.5–1.5 s, offers 128 devices
    /// about 128 trials a second: well beyond any real fine-tuning cluster, and within what two cores can book-keep.
    /// </summary>
    public TimeSpan ShortestJob { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan LongestJob { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Print the silos' warnings and errors, with timestamps, on stderr.</summary>
    public bool SiloLogs { get; init; }

    /// <summary>How long a killed silo stays down before it restarts.</summary>
    public TimeSpan Downtime { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(15);
    public long Seed { get; init; } = 1;

    /// <summary>Trials per experiment (one seed each): experiments hold at most 64 seeds.</summary>
    public const int TrialsPerExperiment = 64;
}
