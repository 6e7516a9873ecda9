namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// Where progress travels: one Orleans stream per experiment and one per sweep, on one stream provider. Seed runs
/// publish their rank 0's steps, evaluations and messages; experiments publish state changes; a sweep's stream also
/// carries everything its experiments publish. Progress is for watchers and successive halving only: no state depends
/// on an event arriving.
/// </summary>
public static class ProgressStreams
{
    /// <summary>The stream provider every silo and client registers (in memory by default).</summary>
    public const string Provider = "flatlora-progress";

    /// <summary>The grain storage holding stream subscriptions (Orleans' name for it).</summary>
    public const string PubSubStorage = "PubSubStore";

    public const string ExperimentNamespace = "flatlora-experiment";
    public const string SweepNamespace = "flatlora-sweep";

    public static StreamId Experiment(string experimentId) => StreamId.Create(ExperimentNamespace, experimentId);

    public static StreamId Sweep(string sweepId) => StreamId.Create(SweepNamespace, sweepId);
}
