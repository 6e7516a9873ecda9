using System.Diagnostics;
using FlatLora.Trainer.Determinism;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// The benchmark's silo kills: K silos (never the primary) killed at seeded times, each back after its downtime.
/// </summary>
internal static class SiloChaos
{
    /// <summary>Kills K silos (never the primary) at seeded random times within the expected drain, each restarted after the downtime.</summary>
    /// <param name="horizonSeconds">How long the load lasts from now (null: the trials' expected drain); kills fall within 10-70 % of it.</param>
    /// <returns>When each kill happened, in seconds from the first submission.</returns>
    public static async Task<List<double>> KillAndRestartAsync(List<BenchSilo> silos, ClusterBenchmarkOptions o, Action<string> progress, double startedAt,
        CancellationToken cancellationToken, double? horizonSeconds = null)
    {
        var killedAt = new List<double>();
        var random = new SplitMix64(Seeding.Derive(o.Seed, "bench-kills"));
        double meanJob = (o.ShortestJob + o.LongestJob).TotalSeconds / 2;
        double expected = horizonSeconds ?? o.Trials * meanJob / (o.Silos * o.DevicesPerSilo);
        var at = Enumerable.Range(0, o.KillSilos).Select(_ => expected * (0.1 + 0.6 * random.NextDouble())).Order().ToList();
        var watch = Stopwatch.StartNew();
        var restarts = new List<Task>();
        try
        {
            foreach (double seconds in at)
            {
                TimeSpan wait = TimeSpan.FromSeconds(seconds) - watch.Elapsed;
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, cancellationToken);
                var candidates = silos.Skip(1).Where(s => s.Running).ToList();
                if (candidates.Count == 0)
                    continue;
                BenchSilo victim = candidates[random.NextInt(candidates.Count)];
                progress($"{startedAt + watch.Elapsed.TotalSeconds:F1} s: killing {victim.Name}");
                killedAt.Add(startedAt + watch.Elapsed.TotalSeconds);
                await victim.KillAsync();
                restarts.Add(RestartLaterAsync(victim, o.Downtime, progress));
            }
        }
        catch (OperationCanceledException)
        {
            // The trials ended first.
        }
        await Task.WhenAll(restarts);
        return killedAt;
    }

    private static async Task RestartLaterAsync(BenchSilo silo, TimeSpan downtime, Action<string> progress)
    {
        await Task.Delay(downtime);
        await silo.StartAsync(CancellationToken.None);
        progress($"restarted {silo.Name}");
    }
}
