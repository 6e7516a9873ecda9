using System.Text.Json;
using System.Text.RegularExpressions;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;

namespace FlatLora.Silo.Tests;

/// <summary>Two silo processes and the CLI on loopback, joined through a real Redis; real (tiny) training.</summary>
public sealed class MultiProcessClusterTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(4);
    private readonly RedisServer _redis = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-silo-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Two_silos_and_the_cli_run_an_experiment_through_redis()
    {
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);   // once, here, not in both silos at the same moment
        string spec = WriteSpec(seeds: "[1, 2]", steps: 12);
        using (var cluster = new SiloCluster(_redis, $"mp-{Guid.NewGuid():N}"))
        {
            // Both silos hold the cluster key; every byte to their silo, gateway and gradient ports is recorded.
            string[] keyed = [$"--FlatLora:Silo:ClusterKey={Convert.ToBase64String(ClusterKey)}"];
            await cluster.StartSiloAsync("silo-a", recordTraffic: true, settings: keyed);
            await cluster.StartSiloAsync("silo-b", recordTraffic: true, settings: keyed);

            (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["cluster", .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            Assert.Contains("silo-a", output);
            Assert.Contains("silo-b", output);
            Assert.Contains("2 silo(s), 2 free", output);
            Assert.DoesNotContain("no cluster key", output);   // keyed: nothing weakens the ring
            Assert.Contains("warning: silo-a: API authentication is off", output);   // plaintext, no OIDC issuer: said on every silo

            await ADataParallelRunLeavesNoKeyOnTheWireOrInRedisAsync(cluster);

            (code, output) = await ChildProcess.RunCliAsync(TimeSpan.FromSeconds(60), ["submit", _output + "/bad.yaml", .. cluster.CliConnection]);
            Assert.Equal(2, code);   // a missing file is the user's error, reported before any cluster call

            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", spec, "--watch", "--format", "json", .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            string json = output[output.IndexOf("{\n", StringComparison.Ordinal)..];
            using JsonDocument results = JsonDocument.Parse(json);
            JsonElement status = results.RootElement.GetProperty("status");
            Assert.Equal("completed", status.GetProperty("state").GetString());
            var seeds = status.GetProperty("seeds").EnumerateArray().ToList();
            Assert.Equal(2, seeds.Count);
            Assert.All(seeds, s => Assert.Equal(12, s.GetProperty("metrics").GetProperty("steps").GetInt32()));
            // evaluation.flatness: each seed's final weights carry their expected sharpness.
            Assert.All(seeds, s => Assert.True(double.IsFinite(s.GetProperty("metrics").GetProperty("sharpness").GetProperty("sharpness@0.05").GetDouble())));
            // Both devices were used: one seed ran on each silo.
            var devices = seeds.Select(s => s.GetProperty("devices")[0].GetString()).ToList();
            Assert.Contains(devices, d => d!.StartsWith("silo-a/", StringComparison.Ordinal));
            Assert.Contains(devices, d => d!.StartsWith("silo-b/", StringComparison.Ordinal));
            string id = status.GetProperty("id").GetString()!;
            Assert.All(seeds, s => Assert.True(File.Exists(Path.Combine(s.GetProperty("metrics").GetProperty("adapter_directory").GetString()!, "adapter_model.safetensors"))));

            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            Assert.Contains(id, output);
            Assert.Contains("Completed", output);

            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["export", id, "--out", _output + "/adapters", .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            Assert.True(File.Exists(Path.Combine(_output, "adapters", "seed-1", "adapter_config.json")));
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["export", id, "--seed", "2", "--merged", "--out", _output + "/merged", .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            Assert.True(File.Exists(Path.Combine(_output, "merged", "model.safetensors")));

            // A long run, cancelled from another process while it trains; watching it then reports Cancelled (exit 130).
            string longSpec = WriteSpec(seeds: "[7]", steps: 5000, file: "long.yaml");
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", longSpec, .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            string longId = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
            // Ctrl+C on a watch stops watching, not the run, and says so.
            using (ChildProcess watcher = ChildProcess.Start("Client", "flatlora.dll", ["watch", longId, .. cluster.CliConnection]))
            {
                DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (!watcher.Output.Contains("step ", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
                    await Task.Delay(100);
                watcher.Interrupt();
                Assert.Equal(130, await watcher.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                Assert.Contains($"detached; `flatlora cancel {longId}` stops it", watcher.Output);
            }
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", longId, .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            Assert.Contains("Running", output);
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["cancel", longId, .. cluster.CliConnection]);
            Assert.True(code == 0, output);
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["watch", longId, .. cluster.CliConnection]);
            Assert.Equal(130, code);
            Assert.Contains($"{longId}: Cancelled", output);

            string metrics = await cluster.MetricsAsync("silo-a");
            Assert.Contains("flatlora_training_tokens_total", metrics);
            Assert.Contains("flatlora_robustness_segment_drift_bucket", metrics);
            Assert.Contains("flatlora_robustness_high_drift_share", metrics);
            // One series per run and σ, labelled by experiment, seed and sigma only (no method, node or rank).
            var sharpness = Regex.Matches(metrics, "^flatlora_flatness_sharpness\\{([^}]*)\\} ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(sharpness);
            Assert.Contains(sharpness, labels => labels.Contains($"experiment=\"{id}\"", StringComparison.Ordinal) && labels.Contains("sigma=\"0.05\"", StringComparison.Ordinal));
            Assert.All(sharpness, labels => Assert.DoesNotContain("method=", labels));
            Assert.All(sharpness, labels => Assert.DoesNotContain("node=", labels));
            Assert.Contains("orleans_", metrics);
        }
    }

    private static readonly byte[] ClusterKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// A W=2 run across the keyed silos, without TLS: its ranks derive their ring keys from the cluster key on each silo,
    /// so neither the key nor anything derived from it is ever sent or stored.
    /// </summary>
    private async Task ADataParallelRunLeavesNoKeyOnTheWireOrInRedisAsync(SiloCluster cluster)
    {
        string spec = Path.Combine(_output, "parallel.yaml");
        File.WriteAllText(spec, $"training: {{ max_steps: 4, batch_size: 8, micro_batch_size: 4 }}\nexperiment: {{ seeds: [3], world_size: 2 }}\noutput_dir: {_output}/runs\n");
        string id = await ClusterRuns.SubmitAsync(cluster, spec);
        JsonElement seed = await ClusterRuns.WaitAsync(cluster, id, steps: 4);
        Assert.Equal(["silo-a", "silo-b"], ClusterRuns.Silos(seed).Order());
        string runKey = $"{id}/3";

        byte[] wire = [.. new[] { "silo-a", "silo-b" }.SelectMany(name =>
            new[] { cluster.Traffic(name).Silo, cluster.Traffic(name).Gateway, cluster.Traffic(name).Control, cluster.Traffic(name).Data, cluster.Traffic(name).Api }.SelectMany(p => p.Recorded()))];
        Assert.True(cluster.Traffic("silo-a").Data.Recorded().Length + cluster.Traffic("silo-b").Data.Recorded().Length > 10_000,
            "the gradients did not cross the data-plane proxies");
        byte[] stored = _redis.Dump();
        var secrets = new List<(string What, byte[] Bytes)>
        {
            ("the cluster key", ClusterKey),
            ("the cluster key in base64", System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(ClusterKey))),
        };
        for (int attempt = 1; attempt <= Math.Max(1, seed.GetProperty("attempt").GetInt32()); attempt++)
        {
            secrets.Add(($"attempt {attempt}'s edge 0→1 key", Collectives.Tcp.RingKeys.Edge(ClusterKey, runKey, attempt, 0, 1)));
            secrets.Add(($"attempt {attempt}'s edge 1→0 key", Collectives.Tcp.RingKeys.Edge(ClusterKey, runKey, attempt, 1, 0)));
        }
        foreach ((string what, byte[] bytes) in secrets)
        {
            Assert.True(wire.AsSpan().IndexOf(bytes.AsSpan(0, 16)) < 0, $"{what} crossed the wire");
            Assert.True(stored.AsSpan().IndexOf(bytes.AsSpan(0, 16)) < 0, $"{what} is stored in Redis");
        }
    }

    private string WriteSpec(string seeds, int steps, string file = "experiment.yaml")
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, file);
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            method: { name: flat, rho: 0.05 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: {{steps}}, log_every: 2 }
            checkpoint: { interval: 4 }
            robustness: { eval_examples: 8, perturb: [typo:light, emoji:light] }
            evaluation: { flatness: { sigma: [0.05], samples: 2, max_examples: 16 } }
            experiment: { name: multi-process, seeds: {{seeds}} }
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
