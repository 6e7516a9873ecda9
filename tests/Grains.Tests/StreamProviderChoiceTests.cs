using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Hosting;
using Microsoft.Extensions.Hosting;
using Orleans.Streams;

namespace FlatLora.Grains.Tests;

public class StreamProviderChoiceTests
{
    [Fact]
    public void Progress_travels_on_memory_streams_unless_the_host_registered_its_own_provider()
    {
        Assert.Equal(1, ProgressProviders(hostProvider: false));
        // A host with a persistent provider (the silo's AzureQueue streams) keeps it: no second provider under the name.
        Assert.Equal(1, ProgressProviders(hostProvider: true));
    }

    private static int ProgressProviders(bool hostProvider)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering();
            if (hostProvider)
                silo.AddMemoryStreams(ProgressStreams.Provider);   // stands in for any provider the host chose
            silo.AddFlatLoraGrains();
        });
        return builder.Services.Count(d => d.IsKeyedService && Equals(d.ServiceKey, ProgressStreams.Provider) && d.ServiceType == typeof(IStreamProvider));
    }
}
