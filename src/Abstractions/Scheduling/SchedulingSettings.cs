using FlatLora.Spec;

namespace FlatLora.Abstractions.Scheduling;

/// <summary>
/// Section "FlatLora:Cluster:Scheduling": the projects that share the cluster and how long an entitled run waits before
/// the scheduler preempts for it. Re-read when the configuration changes (the Helm chart mounts it from a ConfigMap),
/// so a change applies without a restart.
/// </summary>
public sealed class SchedulingSettings
{
    public const string Section = "FlatLora:Cluster:Scheduling";

    /// <summary>
    /// How long a run within its project's fair share, or of a higher priority than a running one, waits before the
    /// scheduler takes devices back for it.
    /// </summary>
    public TimeSpan PreemptAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Projects by name. A run is charged to its owner's project; a project not listed here gets
    /// <see cref="ProjectQuota.Default"/> (weight 1, no guarantee, no max), unless <see cref="OnlyListedProjects"/>.
    /// </summary>
    public Dictionary<string, ProjectQuota> Projects { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Refuse submissions charged to a project that <see cref="Projects"/> does not list (default: when any is listed).</summary>
    public bool? OnlyListedProjects { get; set; }

    public bool RefusesUnlisted => OnlyListedProjects ?? Projects.Count > 0;

    public ProjectQuota QuotaOf(string project) => Projects.TryGetValue(project, out ProjectQuota? q) ? q : ProjectQuota.Default;
}

/// <summary>The scheduling settings in force on this silo (the scheduler and the API read the same ones).</summary>
public interface ISchedulingSettings
{
    SchedulingSettings Current { get; }
}

/// <summary>One project's share of the cluster.</summary>
public sealed class ProjectQuota
{
    public static readonly ProjectQuota Default = new();

    /// <summary>Its weight in max-min fair sharing of contended devices.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>Devices it gets before any project beyond its guarantee (and within which non-preemptible runs are safe).</summary>
    public int Guaranteed { get; set; }

    /// <summary>The most devices it may hold at once (null: no cap beyond the cluster).</summary>
    public int? Max { get; set; }

    /// <summary>The highest priority class its members may submit with (critical is for cluster admins only).</summary>
    public string MaxPriority { get; set; } = "high";

    public PriorityClass MaxPriorityClass => PriorityClasses.TryParse(MaxPriority, out PriorityClass p) ? p : PriorityClass.High;
}
