namespace FlatLora.Spec;

/// <summary>
/// A <see cref="TrainSpec"/> that passed <see cref="TrainSpecValidator"/>. Code that runs a spec takes this type, so a
/// spec is checked where it enters (the CLI, the cluster, a shard whose seed run derived it) and never again inside.
/// </summary>
public sealed class ValidTrainSpec
{
    private ValidTrainSpec(TrainSpec spec) => Spec = spec;

    public TrainSpec Spec { get; }

    /// <summary>Validates <paramref name="spec"/>; throws <see cref="SpecException"/> naming every bad field.</summary>
    public static ValidTrainSpec From(TrainSpec spec)
    {
        SpecException.ThrowIfAny(TrainSpecValidator.Validate(spec));
        return new ValidTrainSpec(spec);
    }

    /// <summary>
    /// Checks every value of a spec that runs elsewhere (a cluster): the files it names are the cluster's to check,
    /// under its own roots. Throws <see cref="SpecException"/> naming every bad field.
    /// </summary>
    public static void CheckValues(TrainSpec spec) => SpecException.ThrowIfAny(TrainSpecValidator.Validate(spec, checkFiles: false));

    public override string ToString() => SpecJson.Serialize(Spec);
}
