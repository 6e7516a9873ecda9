using FlatLora.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace FlatLora.Grains.Tests;

/// <summary>
/// A grain call whose placement the Orleans runtime times out (its Polly pipeline, while a cut link leaves a silo
/// neither alive nor declared dead) fails with Polly's TimeoutRejectedException. Seen in MultiHostTests: the CLI got
/// "Could not find a codec for type Polly.Timeout.TimeoutRejectedException" instead, an unexpected failure that ended
/// `status --watch`, where the timeout itself is retried.
/// </summary>
public sealed class RuntimeExceptionSerializationTests
{
    [Fact]
    public void A_runtime_timeout_reaches_the_caller_as_itself()
    {
        using ServiceProvider services = new ServiceCollection().AddSerializer(s => s.AddFlatLoraSerialization()).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        Exception? roundTripped = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(new Polly.Timeout.TimeoutRejectedException("pipeline timed out")));

        Assert.IsType<Polly.Timeout.TimeoutRejectedException>(roundTripped);
        Assert.Equal("pipeline timed out", roundTripped!.Message);
    }
}
