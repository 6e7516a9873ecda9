namespace FlatLora.Spec;

/// <summary>One problem with a spec: the field (snake_case path, e.g. <c>lora.rank</c>), what is wrong, and where.</summary>
public sealed record SpecError(string Field, string Message, string? Location = null)
{
    public override string ToString() =>
        Location is null ? $"{Field}: {Message}" : $"{Location}: {Field}: {Message}";
}
