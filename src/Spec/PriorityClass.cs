namespace FlatLora.Spec;

/// <summary>
/// How urgently a run wants devices (`experiment.priority`). Higher classes are granted first across the cluster and
/// may preempt lower ones; a project caps the highest class its members may use, and only cluster admins use
/// <see cref="Critical"/>.
/// </summary>
public enum PriorityClass
{
    Low = 0,
    Normal = 1,
    High = 2,
    Critical = 3,
}

public static class PriorityClasses
{
    public static readonly string[] Names = ["low", "normal", "high", "critical"];

    public static bool TryParse(string? name, out PriorityClass priority)
    {
        int index = Array.IndexOf(Names, name);
        priority = index < 0 ? PriorityClass.Normal : (PriorityClass)index;
        return index >= 0;
    }

    /// <summary>The class a spec names; the validator has already refused anything else.</summary>
    public static PriorityClass Parse(string? name) => TryParse(name, out PriorityClass p) ? p : throw new ArgumentException($"unknown priority '{name}'");

    public static string Name(this PriorityClass priority) => Names[(int)priority];
}
