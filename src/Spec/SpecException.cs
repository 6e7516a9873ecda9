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

    // One line per problem, each "file:line:column: field: what" (the CLI puts "error: " in front of the first).
    private static string Describe(IReadOnlyList<SpecError> errors) => errors.Count == 1
        ? errors[0].ToString()
        : $"{errors[0]}{Environment.NewLine}" + string.Join(Environment.NewLine, errors.Skip(1).Select(e => $"error: {e}"));
}
