using FlatLora.Spec;

namespace FlatLora.Abstractions;

/// <summary>
/// A submission the cluster refused because its spec is invalid: the wire form of <see cref="SpecException"/>,
/// with every bad field as "field: reason".
/// </summary>
[GenerateSerializer]
public sealed class SpecRejectedException : Exception
{
    public SpecRejectedException()
    {
    }

    public SpecRejectedException(string message) : base(message)
    {
    }

    public SpecRejectedException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public SpecRejectedException(SpecException source) : base(source.Message)
    {
        Errors = source.Errors.Select(e => e.ToString()).ToList();
    }

    [Id(0)] public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Runs <paramref name="action"/>, turning a <see cref="SpecException"/> into this wire-safe form.</summary>
    public static async Task<T> Translate<T>(Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (SpecException e)
        {
            throw new SpecRejectedException(e);
        }
    }
}
