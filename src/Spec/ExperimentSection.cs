namespace FlatLora.Spec;

/// <summary>How a spec runs as an experiment on the cluster (`flatlora submit`): which seeds, on how many devices each.</summary>
public sealed record ExperimentSection
{
    /// <summary>A label for people; the experiment id is generated.</summary>
    public string? Name { get; init; }

    /// <summary>One seeded run per seed; empty means just <c>seed</c>.</summary>
    public long[] Seeds { get; init; } = [];

    /// <summary>Devices (data-parallel ranks) per seeded run.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>
    /// The fewest ranks a resumed attempt may run on when devices are lost and the cluster has no replacement
    /// (default 1: carry on with the survivors). The global batch stays the same, so the math does too; only
    /// throughput drops. Set it to <see cref="WorldSize"/> to wait for replacements instead.
    /// </summary>
    public int? MinWorldSize { get; init; }

    /// <summary>How often a seeded run that failed for a retryable reason (a lost device) is resumed from its checkpoint.</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>
    /// How gradients travel between ranks on different silos: "fp32" (default; the same result as one rank, up to
    /// summation order) or "bf16" (half the bytes; every value is rounded to bfloat16 each time it is sent, so the
    /// result is not bit-exact against one rank, though the ranks still agree with each other bit for bit).
    /// </summary>
    public string GradientWire { get; init; } = "fp32";

    /// <summary>
    /// low, normal (default), high or critical (cluster admins only): the order in which waiting runs get devices,
    /// across projects, and which runs may preempt which. A project may cap the class its members use.
    /// </summary>
    public string Priority { get; init; } = "normal";

    /// <summary>
    /// Whether the scheduler may take this run's devices back for fairer or more urgent work (it checkpoints at its
    /// next optimizer step and resumes bit-identically later). false protects it only while its project runs within
    /// its guaranteed devices.
    /// </summary>
    public bool Preemptible { get; init; } = true;
}
