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

            (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(2), ["submit", spec, .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            string id = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
            // A long run: live step events must reach the watcher while it trains (they only come through the stream
            // provider). Seen on a loaded machine before the fix: a new subscription started behind the pulling agent's
            // cache (QueueCacheMissException) and then heard nothing; the watcher now subscribes afresh. Ctrl+C must then
            // end it promptly: it used to wait on unsubscribing from a busy silo for over 30 s.
            using (ChildProcess watcher = ChildProcess.Start("Client", "flatlora.dll", ["watch", id, .. cluster.CliConnection]))
            {
                DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
                while (!watcher.Output.Contains("step ", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
                    await Task.Delay(100);
                watcher.Interrupt();
                int? exit = await watcher.WaitForExitAsync(TimeSpan.FromSeconds(30));
                Assert.True(watcher.Output.Contains("step ", StringComparison.Ordinal), watcher.Output + cluster.Logs("silo-q"));
                Assert.True(exit == 130, $"watch exited with {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing in 30 s"} after Ctrl+C:\n{watcher.Output}");
            }
            (code, output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(2), ["cancel", id, .. cluster.CliConnection]);
            Assert.True(code == 0, output);
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
            training: { batch_size: 8, micro_batch_size: 8, max_steps: 5000, log_every: 5 }
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
