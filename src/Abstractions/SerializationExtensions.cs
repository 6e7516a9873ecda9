using FlatLora.Spec;
using Orleans.Serialization;

namespace FlatLora.Abstractions;

/// <summary>
/// Spec records stay plain (no Orleans attributes, so the trainer never depends on Orleans); Orleans carries them as
/// System.Text.Json. Every silo and client must call this.
/// </summary>
public static class SerializationExtensions
{
    public static ISerializerBuilder AddFlatLoraSerialization(this ISerializerBuilder builder) =>
        builder.AddJsonSerializer(
            // Exceptions (SpecException) travel with Orleans' exception codec, which keeps their message and type.
            isSupported: type => type.Namespace == typeof(TrainSpec).Namespace && !typeof(Exception).IsAssignableFrom(type),
            jsonSerializerOptions: SpecJson.Options);
}
