namespace FlatLora.Benchmarks.Cluster;

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

    /// <summary>
    /// 0: every trial is one user's, in one project. 3: projects a, b and c of equal weight share the cluster: a floods
    /// it with the trials, b submits <see cref="SmallRuns"/> small runs once it is full, and c a high-priority run every
    /// <see cref="HighEvery"/>; runs checkpoint, and the scheduler preempts after <see cref="PreemptAfter"/>.
    /// </summary>
    public int Projects { get; init; }

    public int SmallRuns { get; init; } = 200;
    public TimeSpan ShortestSmallJob { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan LongestSmallJob { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HighEvery { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan HighJob { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The scheduler's FlatLora:Cluster:Scheduling:PreemptAfter in the benchmark's silos.</summary>
    public TimeSpan PreemptAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>What a preempted job's checkpoint takes to write.</summary>
    public TimeSpan CheckpointTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Steps per job, and every how many a job checkpoints on its own (with projects only).</summary>
    public int StepsPerJob => Projects > 0 ? 10 : 3;
    public int CheckpointEvery { get; init; } = 5;

    /// <summary>How long a job of the experiment holds its device: a's trials the shortest to longest job, b's and c's their own.</summary>
    public (TimeSpan Shortest, TimeSpan Longest) JobLength(string experimentId) => experimentId[0] switch
    {
        'b' when Projects > 0 => (ShortestSmallJob, LongestSmallJob),
        'c' when Projects > 0 => (HighJob, HighJob),
        _ => (ShortestJob, LongestJob),
    };

    /// <summary>Trials per experiment (one seed each): experiments hold at most 64 seeds.</summary>
    public const int TrialsPerExperiment = 64;
}
