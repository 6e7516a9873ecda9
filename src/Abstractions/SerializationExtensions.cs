using FlatLora.Spec;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace FlatLora.Abstractions;

/// <summary>
/// Spec records and the reports the trainer builds (FlatLora.Spec.Reporting) stay plain (no Orleans attributes, so the
/// trainer never depends on Orleans); Orleans carries them as System.Text.Json. Every silo and client must call this.
/// </summary>
public static class SerializationExtensions
{
    public static ISerializerBuilder AddFlatLoraSerialization(this ISerializerBuilder builder)
    {
        // The runtime's placement pipeline (Polly) fails a call with Polly.Timeout.TimeoutRejectedException when placing
        // its grain takes too long, as while a silo is cut off but not yet declared dead. Orleans' exception codec
        // carries only the namespaces it was told of: without this, a caller got "Could not find a codec" instead of a
        // timeout it can retry.
        builder.Services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Polly"));
        return builder.AddJsonSerializer(
            // Exceptions (SpecException) travel with Orleans' exception codec, which keeps their message and type.
            isSupported: type => IsSpecNamespace(type.Namespace) && !typeof(Exception).IsAssignableFrom(type),
            jsonSerializerOptions: SpecJson.Options);
    }

    private static bool IsSpecNamespace(string? name) =>
        name is not null && (name == typeof(TrainSpec).Namespace || name.StartsWith(typeof(TrainSpec).Namespace + ".", StringComparison.Ordinal));
}
