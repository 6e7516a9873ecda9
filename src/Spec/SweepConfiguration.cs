namespace FlatLora.Spec;

/// <summary>One point of a sweep: the field overrides that make it, and the resulting spec.</summary>
public sealed record SweepConfiguration(int Index, IReadOnlyList<KeyValuePair<string, string>> Overrides, TrainSpec Spec)
{
    /// <summary>E.g. "method.name=flat, lora.rank=8" (the base spec alone is "base").</summary>
    public string Label => Overrides.Count == 0 ? "base" : string.Join(", ", Overrides.Select(o => $"{o.Key}={o.Value}"));

    public string? ValueOf(string field) => Overrides.FirstOrDefault(o => o.Key == field).Value;
}
