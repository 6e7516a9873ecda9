using FlatLora.Spec;

namespace FlatLora.Abstractions.Scheduling;

/// <summary>
/// What is wrong with a scheduling configuration, each problem naming its setting. A silo refuses to start with any
/// (exit 2); a bad change at run time is refused the same way and the previous configuration stays in force.
/// </summary>
public static class SchedulingSettingsCheck
{
    public static IReadOnlyList<string> Problems(SchedulingSettings settings)
    {
        var problems = new List<string>();
        string root = SchedulingSettings.Section;
        if (settings.PreemptAfter < TimeSpan.Zero)
            problems.Add($"{root}:PreemptAfter: must not be negative (got {settings.PreemptAfter})");
        foreach ((string name, ProjectQuota quota) in settings.Projects.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string at = $"{root}:Projects:{name}";
            if (!(double.IsFinite(quota.Weight) && quota.Weight > 0))
                problems.Add($"{at}:Weight: must be a finite number > 0 (got {quota.Weight})");
            if (quota.Guaranteed < 0)
                problems.Add($"{at}:Guaranteed: must be 0 or more devices (got {quota.Guaranteed})");
            if (quota.Max is int max && max < 0)
                problems.Add($"{at}:Max: must be 0 or more devices (got {max})");
            else if (quota.Max is int m && m < quota.Guaranteed)
                problems.Add($"{at}:Max: must be at least Guaranteed ({quota.Guaranteed}) (got {m})");
            if (!PriorityClasses.TryParse(quota.MaxPriority, out _))
                problems.Add($"{at}:MaxPriority: must be one of {string.Join(", ", PriorityClasses.Names)} (got '{quota.MaxPriority}')");
        }
        return problems;
    }
}
