namespace FlatLora.Spec;

/// <summary>A spec could not be loaded or is invalid. <see cref="Errors"/> names every bad field.</summary>
public sealed class SpecException : Exception
{
    public SpecException(IReadOnlyList<SpecError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public SpecException(string field, string message, string? location = null)
        : this([new SpecError(field, message, location)])
    {
    }

    public IReadOnlyList<SpecError> Errors { get; }

    public static void ThrowIfAny(IReadOnlyList<SpecError> errors)
    {
        if (errors.Count > 0)
            throw new SpecException(errors);
    }

    private static string Describe(IReadOnlyList<SpecError> errors) => errors.Count == 1
        ? $"Invalid spec: {errors[0]}"
        : $"Invalid spec ({errors.Count} problems):{Environment.NewLine}  " +
          string.Join(Environment.NewLine + "  ", errors);
}
