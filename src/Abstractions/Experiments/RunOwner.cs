namespace FlatLora.Abstractions.Experiments;

/// <summary>
/// Who submitted an experiment or sweep and the project it is charged to, as the API identified the caller (never as
/// the caller claimed). Runs submitted before owners existed, and runs of an unauthenticated cluster, belong to
/// <see cref="Local"/>.
/// </summary>
[GenerateSerializer]
public sealed record RunOwner([property: Id(0)] string User, [property: Id(1)] string Project)
{
    public static readonly RunOwner Local = new("local", "default");

    public override string ToString() => $"{User}@{Project}";
}
