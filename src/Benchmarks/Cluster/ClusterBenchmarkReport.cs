namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// What `flatlora bench cluster` measured. Placement latency: from the moment a device finished a job to the
/// inventory's grant of that device to the next queued run (while runs wait); it includes the outcome's report to the
/// seed run and the seed run's release. Scheduling latency: from the inventory's receipt of that release to the grant.
/// Queue drain: from the first submission to the last grant. Consistency: the inventory at the end holds every device
/// once, free, with nothing queued. CPU: the whole process's processor time per trial, which says how far from
/// saturating this machine the run was.
/// </summary>
public sealed record ClusterBenchmarkReport
{
    public required int Silos { get; init; }
    public required int DevicesPerSilo { get; init; }
    public required int Trials { get; init; }
    public required int Kills { get; init; }
    public required int TrialsCompleted { get; init; }

    /// <summary>Trials that did not complete: failed, or still unfinished at the timeout.</summary>
    public required int TrialsLost { get; init; }

    /// <summary>Trials that completed twice, or ran on two devices at once.</summary>
    public required int TrialsRunTwice { get; init; }

    /// <summary>The first of them (run keys), to look up in the silos' logs.</summary>
    public required IReadOnlyList<string> RunTwice { get; init; }

    /// <summary>Job executions, retries after a kill included.</summary>
    public required int Executions { get; init; }
    public required double PlacementMsP50 { get; init; }
    public required double PlacementMsP90 { get; init; }
    public required double PlacementMsP99 { get; init; }

    /// <summary>Share of placements that took longer than the 50 ms target.</summary>
    public required double PlacementShareOver50Ms { get; init; }
    public required double PlacementMsMax { get; init; }
    public required int PlacementSamples { get; init; }

    /// <summary>How long submitting every experiment took (each persisted; its seeds start at the silos' pace).</summary>
    public required double SubmitSeconds { get; init; }

    /// <summary>From the first submission until the last trial reached the inventory's queue.</summary>
    public required double QueueFillSeconds { get; init; }

    /// <summary>Placements granted once every trial had queued: the running cluster, kills included, without N new runs queueing.</summary>
    public required double PlacementAfterQueuedMsP50 { get; init; }
    public required double PlacementAfterQueuedMsP99 { get; init; }
    public required int PlacementAfterQueuedSamples { get; init; }
    /// <summary>
    /// Placement split in two before scheduling: from a job's end to its silo sending the "freed" report (issue), and
    /// from that send to the report's turn in the inventory (transit: messaging, the inventory's mailbox, the thread pool).
    /// </summary>
    public required double ReportIssueMsP50 { get; init; }
    public required double ReportIssueMsP99 { get; init; }
    public required double ReportTransitMsP50 { get; init; }
    public required double ReportTransitMsP99 { get; init; }

    /// <summary>Calls into the inventory grain by method, and the seconds they took (where the one serial grain spends its time).</summary>
    public IReadOnlyDictionary<string, InventoryTurns> InventoryTurns { get; init; } = new Dictionary<string, InventoryTurns>();

    public required double SchedulingMsP50 { get; init; }

    /// <summary>The exceptions thrown in the process during the run, the most frequent first (type at method: count).</summary>
    public IReadOnlyDictionary<string, int> Exceptions { get; init; } = new Dictionary<string, int>();

    /// <summary>The three-project scenario's figures (null without --projects).</summary>
    public ProjectsReport? Projects { get; init; }
    public required double SchedulingMsP99 { get; init; }
    public required double SchedulingMsMax { get; init; }
    public required double ShortestJobMs { get; init; }
    public required double LongestJobMs { get; init; }
    public required double CpuMsPerTrial { get; init; }
    public required double CpuCoresBusy { get; init; }
    public required int ProcessorCount { get; init; }

    /// <summary>Time the runtime paused every thread for garbage collection during the run: a floor under the tail.</summary>
    public required double GcPauseSeconds { get; init; }
    public required bool GcServer { get; init; }

    /// <summary>Collections of generation 0, 1 and 2 during the run (a gen-1 collection counts in gen 0 too).</summary>
    public required IReadOnlyList<int> GcCollections { get; init; }

    /// <summary>Pause per collection: what a placement caught by one waits at most.</summary>
    public required double GcMeanPauseMs { get; init; }
    public required double AllocatedKbPerTrial { get; init; }
    public required double QueueDrainSeconds { get; init; }
    public required double TotalSeconds { get; init; }
    public required bool InventoryConsistent { get; init; }
    public required IReadOnlyList<string> InventoryProblems { get; init; }

    /// <summary>Placements per 5 s of the run (from the first submission): where the tail happened.</summary>
    public required IReadOnlyList<PlacementWindow> PlacementWindows { get; init; }

    /// <summary>The ten slowest placements, each split into its report's send and the inventory's hearing of it.</summary>
    public required IReadOnlyList<SlowPlacementReport> SlowestPlacements { get; init; }

    /// <summary>When each silo was killed, in seconds from the first submission.</summary>
    public required IReadOnlyList<double> KillsAtSeconds { get; init; }
}

/// <summary>A slow placement: which device, when (seconds from the first submission), and where its time went (ms from the job's end).</summary>
public sealed record SlowPlacementReport(string Device, double AtSeconds, double Ms, double? SentMs, double? HeardMs);
