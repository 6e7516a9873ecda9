using System.Text.Json;
using FlatLora.Tests.Shared;
using FlatLora.Trainer.Tasks;
using FlatLora.Trainer.Training;
using static FlatLora.Silo.Tests.ClusterRuns;

namespace FlatLora.Silo.Tests;

/// <summary>
/// Data-parallel runs across silo processes (gradients over gRPC), with a silo killed by SIGKILL mid-run: the run
/// resumes from its last checkpoint on a replacement device (same world size: bit-identical adapter) or on the
/// survivors alone (smaller world size, same global batch: equal within 1e-5).
/// </summary>
public sealed class DataParallelFaultTests : IDisposable
{
    private const int Steps = 400, CheckpointInterval = 25;
    private readonly RedisServer _redis = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "flatlora-dp-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_killed_rank_resumes_on_a_replacement_bit_identically_and_on_the_survivors_within_1e_5()
    {
        TinyBaseModel.EnsurePretrained(SilentObserver.Instance);
        string spec = WriteSpec();
        using var cluster = new SiloCluster(_redis, $"dp-{Guid.NewGuid():N}");
        foreach (string silo in new[] { "silo-a", "silo-b", "silo-c" })
            await cluster.StartSiloAsync(silo);
        try
        {
            await RunScenarioAsync(cluster, spec);
        }
        catch
        {
            // The silos' logs outlive the test's temporary folder: CI keeps them for a post-mortem.
            string logs = Path.Combine(Path.GetTempPath(), "flatlora-dp-logs", Guid.NewGuid().ToString("N"));
            cluster.DumpLogs(logs);
            Console.Error.WriteLine($"silo logs: {logs}");
            throw;
        }
    }

    private async Task RunScenarioAsync(SiloCluster cluster, string spec)
    {
        // The uninterrupted reference: two ranks on two silos, so gradients cross processes.
        JsonElement reference = await SubmitAndWaitAsync(cluster, spec);
        Assert.Equal(1, reference.GetProperty("attempt").GetInt32());
        Assert.Equal(2, Silos(reference).Distinct().Count());
        string referenceAdapter = AdapterFile(reference);

        // Same spec, and the silo of rank 1 dies mid-run: a third silo has a free device, so the world size stays 2.
        (string id, int killedAt, string killed) = await SubmitAndKillAsync(cluster, spec, rank: 1);
        JsonElement replaced = await WaitAsync(cluster, id, Steps);
        Assert.True(replaced.GetProperty("attempt").GetInt32() >= 2, replaced.ToString());
        Assert.Equal(2, Silos(replaced).Count);
        Assert.DoesNotContain(killed, Silos(replaced));
        AssertAtMostOneIntervalLost(replaced, killedAt);
        Assert.Equal(File.ReadAllBytes(referenceAdapter), File.ReadAllBytes(AdapterFile(replaced)));

        // Again, killing the silo of rank 0 this time: one silo is left, so the run carries on with one rank.
        (id, killedAt, killed) = await SubmitAndKillAsync(cluster, spec, rank: 0);
        JsonElement shrunk = await WaitAsync(cluster, id, Steps);
        Assert.Single(Silos(shrunk));
        Assert.DoesNotContain(killed, Silos(shrunk));
        AssertAtMostOneIntervalLost(shrunk, killedAt);
        double difference = MaxRelativeDifference(referenceAdapter, AdapterFile(shrunk));
        Assert.True(difference <= 1e-5, $"adapter after shrinking to one rank differs by {difference:E2} (relative)");
    }

    private async Task<(string Id, int KilledAt, string Silo)> SubmitAndKillAsync(SiloCluster cluster, string spec, int rank)
    {
        string id = await SubmitAsync(cluster, spec);
        string metrics = Path.Combine(_output, "runs", id, "seed-1", "metrics.jsonl");
        await WaitForStepAsync(metrics, 2);
        JsonElement running = await ResultsAsync(cluster, id);
        string victim = Silos(running)[rank];
        // Past a few checkpoints, well before the end.
        int killedAt = await WaitForStepAsync(metrics, 4 * CheckpointInterval + 3);
        Assert.True(killedAt < Steps - CheckpointInterval, $"the run got to step {killedAt} before the kill: too fast for this test");
        cluster.Silo(victim).KillHard();
        return (id, killedAt, victim);
    }

    /// <summary>
    /// Rank 0's step log shows what was redone: after a resume it repeats the steps since the checkpoint it resumed
    /// from. When rank 0 survives, it checkpoints on its way out and nothing is redone.
    /// </summary>
    private static void AssertAtMostOneIntervalLost(JsonElement seed, int killedAt)
    {
        string metrics = Path.Combine(Path.GetDirectoryName(seed.GetProperty("metrics").GetProperty("adapter_directory").GetString()!)!, "metrics.jsonl");
        var steps = File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "step").Select(e => e.GetProperty("step").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, Steps), steps.Distinct().Order());
        int restart = Enumerable.Range(1, steps.Count - 1).FirstOrDefault(i => steps[i] <= steps[i - 1]);
        int redone = restart == 0 ? 0 : steps[restart - 1] + 1 - steps[restart];
        // No restart in the log means the resume began right after the last logged step: nothing to check here.
        if (restart > 0)
            Assert.True(steps[restart - 1] + 1 >= killedAt, $"the log before the resume ends at step {steps[restart - 1]}, yet the kill came at {killedAt}");
        Assert.True(redone <= CheckpointInterval, $"{redone} steps were redone after the resume: more than one checkpoint interval ({CheckpointInterval})");
        Assert.Equal(Steps - 1, steps[^1]);
    }

    private string WriteSpec()
    {
        Directory.CreateDirectory(_output);
        string path = Path.Combine(_output, "dp.yaml");
        // Dropout 0: with dropout, masks depend on how the batch is split, so only an unchanged world size repeats exactly.
        File.WriteAllText(path, $$"""
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            lora: { rank: 4, alpha: 8, dropout: 0 }
            method: { name: flat, rho: 0.05 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 4, max_steps: {{Steps}}, log_every: 1, eval_every: 0 }
            checkpoint: { interval: {{CheckpointInterval}}, keep: 3 }
            experiment: { name: data-parallel, seeds: [1], world_size: 2, max_retries: 3 }
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
