using Azure.Storage.Queues;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;

namespace FlatLora.Silo.Tests;

/// <summary>A silo with FlatLora:Silo:Streams=AzureQueue (Azurite): progress reaches `watch` through Azure Storage queues.</summary>
public sealed class PersistentStreamsTests : IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly AzuriteServer _azurite = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-silo-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task With_azure_queue_streams_a_watch_follows_the_run_through_the_clusters_queues()
    {
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);
        string clusterId = $"pq-{Guid.NewGuid():N}"[..16];
        string spec = WriteSpec();
        using (var cluster = new SiloCluster(_redis, clusterId))
        {
            await cluster.StartSiloAsync("silo-q", settings: ["--FlatLora:Silo:Streams=AzureQueue", $"--FlatLora:Silo:StreamsConnectionString={_azurite.ConnectionString}"]);

            (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(4), ["submit", spec, "--watch", .. cluster.CliConnection]);

            Assert.True(code == 0, output + cluster.Logs("silo-q"));
            // Live step events: they only reach a watcher through the stream provider.
            Assert.True(output.Contains("step ", StringComparison.Ordinal), output + cluster.Logs("silo-q"));
            Assert.Contains("completed", output, StringComparison.OrdinalIgnoreCase);
            // The provider is Azure's: it made the cluster's queues, named by its cluster id.
            var queues = new QueueServiceClient(_azurite.ConnectionString).GetQueues().Select(q => q.Name).ToList();
            Assert.Equal(4, queues.Count(q => q.StartsWith($"flatlora-progress-{clusterId}-", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Azure_queue_streams_without_a_connection_string_stop_the_silo_naming_the_setting()
    {
        using var cluster = new SiloCluster(_redis, $"pq-{Guid.NewGuid():N}"[..16]);
        await cluster.StartSiloAsync("silo-x", waitHealthy: false, settings: ["--FlatLora:Silo:Streams=AzureQueue"]);
        ChildProcess silo = cluster.Silo("silo-x");
        Assert.NotEqual(0, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("FlatLora:Silo:StreamsConnectionString", silo.Output);
    }

    private string WriteSpec()
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, "experiment.yaml");
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            method: { name: flat, rho: 0.05 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: 60, log_every: 5 }
            experiment: { name: persistent-streams, seeds: [1] }
            output_dir: {{_output}}/runs
            """);
        return path;
    }

    public void Dispose()
    {
        _azurite.Dispose();
        _redis.Dispose();
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is fine to leave.
        }
    }
}
