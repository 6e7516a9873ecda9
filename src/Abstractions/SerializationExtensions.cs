using FlatLora.Spec;
using Orleans.Serialization;

namespace FlatLora.Abstractions;

/// <summary>
/// Spec records and the reports the trainer builds (FlatLora.Spec.Reporting) stay plain (no Orleans attributes, so the
/// trainer never depends on Orleans); Orleans carries them as System.Text.Json. Every silo and client must call this.
/// </summary>
public static class SerializationExtensions
{
    public static ISerializerBuilder AddFlatLoraSerialization(this ISerializerBuilder builder) =>
        builder.AddJsonSerializer(
            // Exceptions (SpecException) travel with Orleans' exception codec, which keeps their message and type.
            isSupported: type => IsSpecNamespace(type.Namespace) && !typeof(Exception).IsAssignableFrom(type),
            jsonSerializerOptions: SpecJson.Options);

    private static bool IsSpecNamespace(string? name) =>
        name is not null && (name == typeof(TrainSpec).Namespace || name.StartsWith(typeof(TrainSpec).Namespace + ".", StringComparison.Ordinal));
}
