using System.Text.Json;
using FlatLora.Benchmarks.Network;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using static FlatLora.Silo.Tests.ClusterRuns;

namespace FlatLora.Silo.Tests;

/// <summary>
/// Silos on separate hosts: each in its own Linux network namespace with its own address, joined by a bridge that
/// Redis listens on. Gradients cross the bridge over the TCP data plane. A data-parallel run equals one rank; it
/// survives a host killed with SIGKILL and a host whose link is cut mid-step (the error names the silent rank and its
/// address within the collective timeout), resuming on what is left.
/// </summary>
public sealed class MultiHostTests : IDisposable
{
    private const int Steps = 300, CheckpointInterval = 25;
    private const string CollectiveTimeout = "00:00:12";
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-multihost-tests", Guid.NewGuid().ToString("N"));
    private readonly NetworkNamespaces? _network;
    private readonly string? _whyNot;

    public MultiHostTests() => _network = NetworkNamespaces.TryCreate(3, out _whyNot);

    [SkippableFact]
    public async Task Two_hosts_train_like_one_and_resume_after_a_killed_host_and_a_cut_link()
    {
        Skip.If(_network is null, _whyNot);
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);
        using var redis = new RedisServer(bindAddress: _network.BridgeIp);
        using var cluster = new SiloCluster(redis, $"hosts-{Guid.NewGuid():N}");
        // Heartbeats are patient here, so the collective timeout, not the liveness check, is what notices the cut link.
        foreach ((string silo, int host) in new[] { ("silo-a", 0), ("silo-b", 1) })
            await cluster.StartSiloAsync(silo, heartbeatTimeout: "00:01:00", host: _network.Host(host), collectiveTimeout: CollectiveTimeout);
        try
        {
            await RunScenarioAsync(cluster);
        }
        catch
        {
            string logs = Path.Combine(Path.GetTempPath(), "flatlora-multihost-logs", Guid.NewGuid().ToString("N"));
            cluster.DumpLogs(logs);
            Console.Error.WriteLine($"silo logs: {logs}");
            throw;
        }
    }

    private async Task RunScenarioAsync(SiloCluster cluster)
    {
        // One rank, then two ranks on two hosts: same global batch, same math.
        string reference = AdapterFile(await SubmitAndWaitAsync(cluster, WriteSpec("single", worldSize: 1)));
        string spec = WriteSpec("parallel", worldSize: 2);
        JsonElement parallel = await SubmitAndWaitAsync(cluster, spec);
        Assert.Equal(["silo-a", "silo-b"], Silos(parallel).Order());
        AssertWithin1e5(reference, AdapterFile(parallel));

        // SIGKILL of host 1's silo mid-run: the survivor carries on alone from the last checkpoint.
        string id = await SubmitAsync(cluster, spec);
        await WaitPastCheckpointsAsync(id);
        cluster.Silo(Silos(await ResultsAsync(cluster, id)).Single(s => s != "silo-a")).KillHard();
        JsonElement afterKill = await WaitAsync(cluster, id, Steps);
        Assert.Equal(["silo-a"], Silos(afterKill));
        AssertWithin1e5(reference, AdapterFile(afterKill));

        // A third host joins; then its link is cut mid-step: the collective times out naming rank 1 and its address.
        await cluster.StartSiloAsync("silo-c", heartbeatTimeout: "00:01:00", host: _network!.Host(2), collectiveTimeout: CollectiveTimeout);
        id = await SubmitAsync(cluster, spec);
        await WaitPastCheckpointsAsync(id);
        List<string> ranks = Silos(await ResultsAsync(cluster, id));
        Assert.Contains("silo-c", ranks);
        _network.CutLink(2);
        var cut = System.Diagnostics.Stopwatch.StartNew();
        string named = await WaitForLogAsync(cluster, "no gradients from rank", TimeSpan.FromSeconds(60));
        Assert.True(cut.Elapsed < TimeSpan.Parse(CollectiveTimeout, System.Globalization.CultureInfo.InvariantCulture) + TimeSpan.FromSeconds(15),
            $"the cut was reported after {cut.Elapsed}");
        // Each side of the cut waits on the other: whichever reports first names the rank it waited for, at that rank's host.
        var silent = System.Text.RegularExpressions.Regex.Match(named, @"no gradients from rank (\d) at ([0-9.]+):");
        Assert.True(silent.Success, named);
        string silentSilo = ranks[int.Parse(silent.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)];
        Assert.Equal(_network.Host(silentSilo == "silo-c" ? 2 : 0).Ip, silent.Groups[2].Value);
        JsonElement afterCut = await WaitAsync(cluster, id, Steps);
        Assert.DoesNotContain("silo-c", Silos(afterCut));
        AssertWithin1e5(reference, AdapterFile(afterCut));
    }

    private async Task WaitPastCheckpointsAsync(string id)
    {
        string metrics = Path.Combine(_output, "runs", id, "seed-1", "metrics.jsonl");
        int at = await WaitForStepAsync(metrics, 2 * CheckpointInterval + 3);
        Assert.True(at < Steps - CheckpointInterval, $"the run got to step {at} before the fault: too fast for this test");
    }

    /// <summary>
    /// The first silo log line containing <paramref name="text"/>: a rank logs why it failed on its own silo, at once
    /// (its seed run, which may live on the cut host, hears of it only once the cluster routes around that host).
    /// </summary>
    private static async Task<string> WaitForLogAsync(SiloCluster cluster, string text, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (string silo in new[] { "silo-a", "silo-b", "silo-c" })
            {
                string? line = cluster.Logs(silo).Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (line is not null)
                    return line;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"no silo logged '{text}' within {timeout}");
    }

    private static void AssertWithin1e5(string reference, string adapter)
    {
        double difference = MaxRelativeDifference(reference, adapter);
        Assert.True(difference <= 1e-5, $"adapter differs from the one-rank reference by {difference:E2} (relative)");
    }

    private string WriteSpec(string name, int worldSize)
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, $"{name}.yaml");
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            lora: { rank: 4, alpha: 8, dropout: 0 }
            method: { name: flat, rho: 0.05 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 4, max_steps: {{Steps}}, log_every: 1, eval_every: 0 }
            checkpoint: { interval: {{CheckpointInterval}}, keep: 3 }
            experiment: { name: multi-host, seeds: [1], world_size: {{worldSize}}, max_retries: 5 }
            output_dir: {{_output}}/runs
            """);
        return path;
    }

    public void Dispose()
    {
        _network?.Dispose();
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
