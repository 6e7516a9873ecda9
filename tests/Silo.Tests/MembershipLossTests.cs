using System.Text.Json;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using static FlatLora.Silo.Tests.ClusterRuns;

namespace FlatLora.Silo.Tests;

/// <summary>
/// Redis restarted without persistence while silos run on it for membership and grain state: the membership table is
/// gone too. The cluster must become one cluster again, the run must finish as if nothing happened, and a silo that
/// restarts afterwards must join that same cluster.
/// </summary>
public sealed class MembershipLossTests : IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-membership-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task After_redis_loses_everything_silos_and_clients_see_one_cluster_the_run_completes_and_a_restarted_silo_joins_it()
    {
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);
        string spec = WriteSpec();
        using var cluster = new SiloCluster(_redis, $"ml-{Guid.NewGuid():N}");
        await cluster.StartSiloAsync("silo-a");
        await cluster.StartSiloAsync("silo-b");
        try
        {
            string reference = AdapterFile(await SubmitAndWaitAsync(cluster, spec));

            string id = await SubmitAsync(cluster, spec);
            await WaitForStepAsync(Path.Combine(_output, "runs", id, "seed-1", "metrics.jsonl"), 5);
            _redis.Restart();
            await OneClusterAsync(cluster, "after Redis lost everything");
            // The silo that wrote the table back says so, in its log and (degraded for a while: an operator should look) in /health.
            using var http = new HttpClient();
            string[] health = [.. await Task.WhenAll(new[] { "silo-a", "silo-b" }.Select(name =>
                http.GetStringAsync(new Uri($"http://127.0.0.1:{cluster.HttpPort(name)}/health"))))];
            Assert.Contains(health, h => h.StartsWith("Degraded", StringComparison.Ordinal) && h.Contains("the membership table was lost", StringComparison.Ordinal));
            Assert.Contains("Membership: the membership table was lost", cluster.Logs("silo-a") + cluster.Logs("silo-b"));
            JsonElement finished = await WaitAsync(cluster, id, Steps);
            Assert.Equal(File.ReadAllBytes(reference), File.ReadAllBytes(AdapterFile(finished)));

            await cluster.RestartSiloAsync("silo-b");
            await OneClusterAsync(cluster, "after silo-b restarted");
        }
        catch
        {
            string logs = Path.Combine(Path.GetTempPath(), "flatlora-membership-logs", Guid.NewGuid().ToString("N"));
            cluster.DumpLogs(logs);
            Console.Error.WriteLine($"silo logs: {logs}");
            throw;
        }
    }

    /// <summary>Within 60 s, the API of either silo, and Redis membership, show the same two silos with both devices free.</summary>
    private static async Task OneClusterAsync(SiloCluster cluster, string when)
    {
        IReadOnlyList<string>[] views = [cluster.CliConnectionTo("silo-a"), cluster.CliConnectionTo("silo-b")];
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var last = new string[views.Length];
        while (true)
        {
            bool agreed = true;
            for (int v = 0; v < views.Length; v++)
            {
                (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromSeconds(60), ["cluster", "--connect-timeout", "10", .. views[v]]);
                last[v] = $"exit {code}: {output}";
                agreed &= code == 0 && output.Contains("2 silo(s), 2 free", StringComparison.Ordinal);
            }
            if (agreed && cluster.Redis.MembershipRows(cluster.ClusterId) == 2)
                return;
            Assert.True(DateTime.UtcNow < deadline, $"{when}, the views did not agree within 60 s:\n{string.Join("\n---\n", last)}");
            await Task.Delay(2000);
        }
    }

    private const int Steps = 60;

    private string WriteSpec()
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, "run.yaml");
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            lora: { rank: 4, alpha: 8, dropout: 0 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: {{Steps}}, log_every: 1 }
            checkpoint: { interval: 10 }
            experiment: { name: membership-loss, seeds: [1], max_retries: 3 }
            output_dir: {{_output}}/runs
            """);
        return path;
    }

    public void Dispose()
    {
        _redis.Dispose();
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
