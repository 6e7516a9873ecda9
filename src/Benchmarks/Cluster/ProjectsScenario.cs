using System.Collections.Concurrent;
using System.Diagnostics;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// `bench cluster --projects 3`: three projects of equal weight share the cluster. a floods it with the trials (its
/// runs are long, so devices free rarely); once every device is a's, b submits many small runs, and c a high-priority
/// run every so often. Measured: each project's device-seconds against its fair share while b has runs waiting, b's
/// wait against a's backlog, c's time from submission to running, and whether any work was lost, done twice, or done
/// again after a preemption. When b and c are done, a's rest is cancelled: its trials are not waited for.
/// </summary>
internal static class ProjectsScenario
{
    public static readonly string[] Names = ["a", "b", "c"];
    private static readonly RunOwner Alice = new("alice", "a"), Bob = new("bob", "b"), Carol = new("carol", "c");

    public sealed record Outcome(ProjectsReport Report, List<string> Experiments, int Completed, int Lost, double SubmitSeconds, Task<List<double>> Kills);

    public static async Task<Outcome> RunAsync(IClusterClient client, List<BenchSilo> silos, BenchLedger ledger, ClusterBenchmarkOptions o,
        Action<string> progress, CancellationToken chaos, CancellationToken cancellationToken)
    {
        if (o.Projects != 3)
            throw new ArgumentException($"--projects must be 0 or 3 (got {o.Projects})");
        int devices = o.Silos * o.DevicesPerSilo;
        var watch = Stopwatch.StartNew();
        DateTime startUtc = DateTime.UtcNow;
        List<string> a = await SubmitAsync(client, "a", o.Trials, ClusterBenchmarkOptions.TrialsPerExperiment, Alice, PriorityClass.Normal, cancellationToken);
        double submitSeconds = watch.Elapsed.TotalSeconds;
        progress($"Project a submitted {o.Trials} trials; waiting for them to fill the {devices} devices...");
        await WaitAsync(() => Task.FromResult(ledger.Holding("a") >= Math.Min(devices, o.Trials)), TimeSpan.FromMinutes(3), "a's trials to fill the cluster", cancellationToken);

        // Kills fall within the time b's runs need at half the cluster, after a's preemption delay.
        double meanSmall = (o.ShortestSmallJob + o.LongestSmallJob).TotalSeconds / 2;
        double horizon = o.PreemptAfter.TotalSeconds + o.SmallRuns * meanSmall / Math.Max(1, devices / 2.0);
        Task<List<double>> kills = SiloChaos.KillAndRestartAsync(silos, o, progress, watch.Elapsed.TotalSeconds, chaos, horizon);

        DateTime bSubmittedUtc = DateTime.UtcNow;
        List<string> b = await SubmitAsync(client, "b", o.SmallRuns, 1, Bob, PriorityClass.Normal, cancellationToken);
        progress($"{(bSubmittedUtc - startUtc).TotalSeconds:F1} s: project b submitted {o.SmallRuns} small runs; c submits a high-priority run every {o.HighEvery.TotalSeconds:F0} s");
        var cSubmittedUtc = new ConcurrentDictionary<string, DateTime>(StringComparer.Ordinal);
        using var stopC = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task highRuns = HighRunsAsync(client, o, cSubmittedUtc, progress, startUtc, stopC.Token);

        var bRuns = b.Select(id => SeedRunPlan.KeyOf(id, 1)).ToList();
        await TrialWatch.WaitForTrialsAsync(client, b, b.Count, o, message => progress($"b: {message}"), cancellationToken);
        // c keeps coming until b is done, and at least three times.
        await WaitAsync(() => Task.FromResult(cSubmittedUtc.Count >= 3), o.HighEvery * 4, "three of c's runs", cancellationToken);
        await stopC.CancelAsync();
        await highRuns;
        List<string> c = [.. cSubmittedUtc.Keys.Order(StringComparer.Ordinal)];
        await TrialWatch.WaitForTrialsAsync(client, c, c.Count, o, message => progress($"c: {message}"), cancellationToken);

        progress($"{watch.Elapsed.TotalSeconds:F1} s: b and c are done; cancelling the rest of a's trials");
        await Parallel.ForEachAsync(a, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (id, _) => await client.GetGrain<IExperimentGrain>(id).CancelAsync());
        await TrialWatch.WaitForTrialsAsync(client, a, o.Trials, o, message => progress($"a: {message}"), cancellationToken);

        var statuses = new List<ExperimentStatus>();
        foreach (string id in a.Concat(b).Concat(c))
            statuses.Add(await client.GetGrain<IExperimentGrain>(id).GetStatusAsync());
        var seeds = statuses.SelectMany(s => s.Seeds.Select(seed => (Project: s.Id[..1], Seed: seed))).ToList();
        int completed = seeds.Count(s => s.Seed.State == RunState.Completed);
        int cancelledA = seeds.Count(s => s.Project == "a" && s.Seed.State == RunState.Cancelled);
        int lost = seeds.Count - completed - cancelledA;

        DateTime lastBStartUtc = bRuns.Select(ledger.FirstStartUtc).Max() ?? DateTime.UtcNow;
        DateTime steadyUtc = bSubmittedUtc + o.PreemptAfter + o.CheckpointTime + TimeSpan.FromSeconds(1);
        var report = new ProjectsReport
        {
            PreemptAfterSeconds = o.PreemptAfter.TotalSeconds,
            CheckpointSeconds = o.CheckpointTime.TotalSeconds,
            ATrials = o.Trials,
            ATrialsCompleted = seeds.Count(s => s.Project == "a" && s.Seed.State == RunState.Completed),
            ATrialsCancelledAtEnd = cancelledA,
            BRuns = b.Count,
            CRuns = c.Count,
            BSubmittedAtSeconds = (bSubmittedUtc - startUtc).TotalSeconds,
            ContendedSeconds = (lastBStartUtc - bSubmittedUtc).TotalSeconds,
            Contended = Shares(ledger, bSubmittedUtc, lastBStartUtc, devices),
            Steady = steadyUtc < lastBStartUtc ? Shares(ledger, steadyUtc, lastBStartUtc, devices) : null,
            BWaitSecondsP50 = Quantiles.Of(Waits(bRuns.Select(r => (r, bSubmittedUtc)), ledger), 0.5),
            BWaitSecondsP99 = Quantiles.Of(Waits(bRuns.Select(r => (r, bSubmittedUtc)), ledger), 0.99),
            CToRunningSeconds = Waits(cSubmittedUtc.Select(kv => (SeedRunPlan.KeyOf(kv.Key, 1), kv.Value)), ledger),
            CToRunningTargetSeconds = (o.PreemptAfter + o.CheckpointTime).TotalSeconds + 1,
            Preemptions = seeds.GroupBy(s => s.Project).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(s => s.Seed.Preemptions)),
            StepsRedoneAfterPreemption = ledger.StepsRedoneAfterPreemption,
            StepsRedoneAfterKill = ledger.StepsRedoneAfterKill,
        };
        return new Outcome(report, [.. a, .. b, .. c], completed, lost, submitSeconds, kills);
    }

    /// <summary>Seconds from each run's submission to its first start on a device, sorted.</summary>
    private static double[] Waits(IEnumerable<(string RunKey, DateTime SubmittedUtc)> runs, BenchLedger ledger) =>
        [.. runs.Select(r => ledger.FirstStartUtc(r.RunKey) is DateTime started ? (started - r.SubmittedUtc).TotalSeconds : double.PositiveInfinity).Order()];

    /// <summary>
    /// Each project's device-seconds within [from, to] against its fair share. c asks for less than a third of the
    /// cluster, so its fair share is what it used; a and b, both asking for more than the rest, each deserve half of
    /// what c leaves of the devices a and b used (devices idle while a victim checkpoints count for nobody).
    /// </summary>
    private static ShareWindow Shares(BenchLedger ledger, DateTime from, DateTime to, int devices)
    {
        var used = Names.ToDictionary(p => p, _ => 0.0, StringComparer.Ordinal);
        foreach ((string runKey, DateTime start, DateTime end) in ledger.Holds)
        {
            double overlap = (Min(end, to) - Max(start, from)).TotalSeconds;
            if (overlap > 0 && used.ContainsKey(runKey[..1]))
                used[runKey[..1]] += overlap;
        }
        double window = (to - from).TotalSeconds;
        double fair = (used["a"] + used["b"]) / 2;
        return new ShareWindow
        {
            Seconds = window,
            DeviceSeconds = used,
            Utilisation = window <= 0 ? 0 : used.Values.Sum() / (devices * window),
            AOverFairShare = fair <= 0 ? double.NaN : used["a"] / fair,
            BOverFairShare = fair <= 0 ? double.NaN : used["b"] / fair,
        };
    }

    private static DateTime Min(DateTime x, DateTime y) => x < y ? x : y;
    private static DateTime Max(DateTime x, DateTime y) => x > y ? x : y;

    private static async Task HighRunsAsync(IClusterClient client, ClusterBenchmarkOptions o, ConcurrentDictionary<string, DateTime> submitted,
        Action<string> progress, DateTime startUtc, CancellationToken stop)
    {
        try
        {
            for (int i = 0; ; i++)
            {
                string id = $"c-{i:D5}";
                DateTime now = DateTime.UtcNow;
                await client.GetGrain<IExperimentGrain>(id).SubmitAsync(Request(id, [1], Carol, PriorityClass.High));
                submitted[id] = now;
                progress($"{(now - startUtc).TotalSeconds:F1} s: project c submitted {id} (high)");
                await Task.Delay(o.HighEvery, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // b is done.
        }
    }

    private static async Task<List<string>> SubmitAsync(IClusterClient client, string project, int trials, int perExperiment, RunOwner owner,
        PriorityClass priority, CancellationToken cancellationToken)
    {
        int count = (trials + perExperiment - 1) / perExperiment;
        var ids = Enumerable.Range(0, count).Select(i => $"{project}-{i:D5}").ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, _) =>
            {
                int first = i * perExperiment + 1;
                int seeds = Math.Min(perExperiment, trials - first + 1);
                // One-seed experiments are seed 1 each; a's 64-seed experiments number their seeds across the flood.
                long[] seedList = perExperiment == 1 ? [1] : [.. Enumerable.Range(first, seeds).Select(s => (long)s)];
                await client.GetGrain<IExperimentGrain>(ids[i]).SubmitAsync(Request(ids[i], seedList, owner, priority));
            });
        return ids;
    }

    private static ExperimentRequest Request(string id, long[] seeds, RunOwner owner, PriorityClass priority) => new()
    {
        Spec = new TrainSpec
        {
            Experiment = new ExperimentSection { Name = id, Seeds = seeds, MaxRetries = 10, Priority = priority.Name() },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-bench-cluster"),
        },
        Owner = owner,
    };

    private static async Task WaitAsync(Func<Task<bool>> done, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the benchmark did not see {what} within {timeout.TotalSeconds:F0} s");
            await Task.Delay(200, cancellationToken);
        }
    }
}

/// <summary>What the three-project scenario measured (see <see cref="ProjectsScenario"/>).</summary>
public sealed record ProjectsReport
{
    public double PreemptAfterSeconds { get; init; }
    public double CheckpointSeconds { get; init; }
    public int ATrials { get; init; }
    public int ATrialsCompleted { get; init; }

    /// <summary>a's trials still queued or running once b and c were done, cancelled by the benchmark (not lost).</summary>
    public int ATrialsCancelledAtEnd { get; init; }
    public int BRuns { get; init; }
    public int CRuns { get; init; }
    public double BSubmittedAtSeconds { get; init; }

    /// <summary>From b's submission to the start of its last run: while b had runs waiting.</summary>
    public double ContendedSeconds { get; init; }
    public required ShareWindow Contended { get; init; }

    /// <summary>The same from PreemptAfter + a checkpoint + 1 s after b's submission on: once the scheduler may have acted.</summary>
    public ShareWindow? Steady { get; init; }
    public double BWaitSecondsP50 { get; init; }
    public double BWaitSecondsP99 { get; init; }

    /// <summary>Each of c's runs, from its submission to its first start on a device, sorted.</summary>
    public required double[] CToRunningSeconds { get; init; }
    public double CToRunningTargetSeconds { get; init; }
    public required IReadOnlyDictionary<string, int> Preemptions { get; init; }

    /// <summary>Steps done again after a preemption: the target is 0, since a preempted job checkpoints its last complete step.</summary>
    public long StepsRedoneAfterPreemption { get; init; }

    /// <summary>Steps done again after a silo kill: the work since the last checkpoint, expected.</summary>
    public long StepsRedoneAfterKill { get; init; }
}

/// <summary>Device-seconds per project within a window, and a's and b's against their fair share (1 is exactly fair).</summary>
public sealed record ShareWindow
{
    public double Seconds { get; init; }
    public required IReadOnlyDictionary<string, double> DeviceSeconds { get; init; }
    public double Utilisation { get; init; }
    public double AOverFairShare { get; init; }
    public double BOverFairShare { get; init; }
}
