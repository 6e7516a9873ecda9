using System.Diagnostics;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// The control plane at scale: S in-process silos with D simulated devices each run N one-seed trials (experiments of
/// up to 64 seeds, all submitted at once) while K silos are killed at seeded random times and restarted. Only grains,
/// the inventory and the device threads run; training is simulated, so what is measured is placement and bookkeeping.
/// </summary>
public static class ClusterBenchmark
{
    public static async Task<ClusterBenchmarkReport> RunAsync(ClusterBenchmarkOptions o, Action<string> progress, CancellationToken cancellationToken)
    {
        Validate(o);
        // Exceptions are costly on a hot path: which ones the cluster threw, by type and where, is part of the report.
        var thrown = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e) =>
            thrown.AddOrUpdate($"{e.Exception.GetType().Name} at {e.Exception.TargetSite?.DeclaringType?.Name}.{e.Exception.TargetSite?.Name}", 1, (_, n) => n + 1);
        AppDomain.CurrentDomain.FirstChanceException += Count;
        using var stopCounting = new Unsubscribe(() => AppDomain.CurrentDomain.FirstChanceException -= Count);
        var ledger = new BenchLedger();
        var records = new SharedRecords();
        var primary = new BenchSilo("bench-00", o, records, ledger, primary: null);
        await primary.StartAsync(cancellationToken);
        var silos = new List<BenchSilo> { primary };
        silos.AddRange(Enumerable.Range(1, o.Silos - 1).Select(i => new BenchSilo($"bench-{i:D2}", o, records, ledger, primary.SiloEndpoint)));
        try
        {
            progress($"Starting {o.Silos} in-process silos with {o.DevicesPerSilo} simulated devices each...");
            foreach (BenchSilo silo in silos.Skip(1))
                await silo.StartAsync(cancellationToken);
            IClusterClient client = primary.Client;
            int devices = o.Silos * o.DevicesPerSilo;
            await UntilAsync(async () => (await Inventory(client).GetSnapshotAsync()).Devices.Count(d => d.State == DeviceState.Free) >= devices,
                TimeSpan.FromMinutes(2), $"{devices} devices to register", cancellationToken);

            var watch = Stopwatch.StartNew();
            TimeSpan cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            TimeSpan gcAtStart = GC.GetTotalPauseDuration();
            int[] collectionsAtStart = [.. Enumerable.Range(0, 3).Select(GC.CollectionCount)];
            long allocatedAtStart = GC.GetTotalAllocatedBytes();
            DateTime startUtc = DateTime.UtcNow;
            using var chaos = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            int completed, lost;
            double submitSeconds;
            Task<List<double>> kills;
            ProjectsReport? projects = null;
            if (o.Projects > 0)
            {
                ProjectsScenario.Outcome shared = await ProjectsScenario.RunAsync(client, silos, ledger, o, progress, chaos.Token, cancellationToken);
                (projects, completed, lost, submitSeconds, kills) = (shared.Report, shared.Completed, shared.Lost, shared.SubmitSeconds, shared.Kills);
            }
            else
            {
                List<string> experiments = await SubmitAsync(client, o, progress, cancellationToken);
                submitSeconds = watch.Elapsed.TotalSeconds;
                kills = SiloChaos.KillAndRestartAsync(silos, o, progress, submitSeconds, chaos.Token);
                completed = await TrialWatch.WaitForTrialsAsync(client, experiments, o.Trials, o, progress, cancellationToken);
                lost = o.Trials - completed;
            }
            DateTime submittedUtc = startUtc + TimeSpan.FromSeconds(submitSeconds);
            double total = watch.Elapsed.TotalSeconds;
            double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalMilliseconds;
            double gcPauseMs = (GC.GetTotalPauseDuration() - gcAtStart).TotalMilliseconds;
            int[] collections = [.. Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - collectionsAtStart[g])];
            double allocatedMb = (GC.GetTotalAllocatedBytes() - allocatedAtStart) / 1e6;
            await chaos.CancelAsync();
            await kills;

            // Let restarted silos register again, then judge the inventory as a user would find it.
            await UntilAsync(async () => (await Inventory(client).GetSnapshotAsync()).Devices.Count(d => d.State == DeviceState.Free) >= devices,
                TimeSpan.FromSeconds(30), "every device free again", cancellationToken, throwOnTimeout: false);
            List<string> problems = InventoryProblems(await Inventory(client).GetSnapshotAsync(), silos, o);
            double[] placement = [.. ledger.Placements.Select(p => p.Milliseconds).Order()];
            DateTime allQueuedUtc = ledger.AllQueuedUtc ?? submittedUtc;
            double[] afterQueued = [.. ledger.Placements.Where(p => p.GrantedUtc > allQueuedUtc).Select(p => p.Milliseconds).Order()];
            double[] scheduling = [.. ledger.SchedulingMs.Order()];
            double[] issue = [.. ledger.ReportIssueMs.Order()], transit = [.. ledger.ReportTransitMs.Order()];
            return new ClusterBenchmarkReport
            {
                Silos = o.Silos,
                DevicesPerSilo = o.DevicesPerSilo,
                Trials = projects is null ? o.Trials : projects.ATrials + projects.BRuns + projects.CRuns,
                Kills = o.KillSilos,
                TrialsCompleted = completed,
                TrialsLost = lost,
                TrialsRunTwice = ledger.RunTwice.Count,
                RunTwice = [.. ledger.RunTwice.Take(20)],
                Executions = ledger.Executions,
                PlacementMsP50 = Quantiles.Of(placement, 0.5),
                PlacementMsP90 = Quantiles.Of(placement, 0.9),
                PlacementMsP99 = Quantiles.Of(placement, 0.99),
                PlacementShareOver50Ms = placement.Length == 0 ? 0 : placement.Count(ms => ms > 50) / (double)placement.Length,
                PlacementMsMax = placement.Length == 0 ? double.NaN : placement[^1],
                PlacementSamples = placement.Length,
                SubmitSeconds = submitSeconds,
                QueueFillSeconds = (allQueuedUtc - startUtc).TotalSeconds,
                PlacementAfterQueuedMsP50 = Quantiles.Of(afterQueued, 0.5),
                PlacementAfterQueuedMsP99 = Quantiles.Of(afterQueued, 0.99),
                PlacementAfterQueuedSamples = afterQueued.Length,
                InventoryTurns = ledger.InventoryTurns,
                SchedulingMsP50 = Quantiles.Of(scheduling, 0.5),
                SchedulingMsP99 = Quantiles.Of(scheduling, 0.99),
                SchedulingMsMax = scheduling.Length == 0 ? double.NaN : scheduling[^1],
                ReportIssueMsP50 = Quantiles.Of(issue, 0.5),
                ReportIssueMsP99 = Quantiles.Of(issue, 0.99),
                ReportTransitMsP50 = Quantiles.Of(transit, 0.5),
                ReportTransitMsP99 = Quantiles.Of(transit, 0.99),
                ShortestJobMs = o.ShortestJob.TotalMilliseconds,
                LongestJobMs = o.LongestJob.TotalMilliseconds,
                CpuMsPerTrial = cpuMs / o.Trials,
                CpuCoresBusy = cpuMs / 1000 / total,
                ProcessorCount = Environment.ProcessorCount,
                GcPauseSeconds = gcPauseMs / 1000,
                GcServer = System.Runtime.GCSettings.IsServerGC,
                GcCollections = collections,
                GcMeanPauseMs = collections[0] == 0 ? 0 : gcPauseMs / collections[0],
                AllocatedKbPerTrial = allocatedMb * 1000 / o.Trials,
                QueueDrainSeconds = (ledger.LastGrantUtc - startUtc).TotalSeconds,
                TotalSeconds = total,
                InventoryConsistent = problems.Count == 0,
                InventoryProblems = problems,
                PlacementWindows = PlacementTimeline.Of(ledger.Placements, startUtc, TimeSpan.FromSeconds(5)),
                SlowestPlacements = [.. ledger.SlowPlacements.OrderByDescending(p => p.Milliseconds).Take(10)
                    .Select(p => new SlowPlacementReport(p.Device, (p.GrantedUtc - startUtc).TotalSeconds, p.Milliseconds, p.SentMs, p.HeardMs))],
                KillsAtSeconds = [.. kills.Result],
                Projects = projects,
                Exceptions = thrown.OrderByDescending(t => t.Value).Take(15).ToDictionary(t => t.Key, t => t.Value),
            };
        }
        finally
        {
            foreach (BenchSilo silo in Enumerable.Reverse(silos))
            {
                await silo.StopAsync();
                silo.Dispose();
            }
        }
    }

    private static void Validate(ClusterBenchmarkOptions o)
    {
        if (o.Silos is < 1 or > 64)
            throw new ArgumentException($"--silos must be in [1, 64] (got {o.Silos})");
        if (o.DevicesPerSilo is < 1 or > 64)
            throw new ArgumentException($"--devices-per-silo must be in [1, 64] (got {o.DevicesPerSilo})");
        if (o.Trials is < 1 or > 1_000_000)
            throw new ArgumentException($"--trials must be in [1, 1000000] (got {o.Trials})");
        if (o.KillSilos < 0 || (o.KillSilos > 0 && o.Silos < 2))
            throw new ArgumentException($"--kill-silos must be 0 or positive, and needs 2 silos or more: the primary is never killed (got {o.KillSilos})");
        if (o.Projects is not (0 or 3))
            throw new ArgumentException($"--projects must be 0 (one project) or 3 (a floods, b runs small jobs, c high-priority ones) (got {o.Projects})");
        if (o.PreemptAfter < TimeSpan.Zero || o.CheckpointTime < TimeSpan.Zero)
            throw new ArgumentException("--preempt-after-s and --checkpoint-ms must not be negative");
        if (o.ShortestJob <= TimeSpan.Zero || o.LongestJob < o.ShortestJob || o.LongestJob > TimeSpan.FromMinutes(10))
            throw new ArgumentException($"--shortest-job-ms must be positive and at most --longest-job-ms, which is at most 600000 (got {o.ShortestJob.TotalMilliseconds} and {o.LongestJob.TotalMilliseconds})");
    }

    private static IClusterInventoryGrain Inventory(IClusterClient client) => client.GetGrain<IClusterInventoryGrain>(0);

    private static async Task<List<string>> SubmitAsync(IClusterClient client, ClusterBenchmarkOptions o, Action<string> progress, CancellationToken cancellationToken)
    {
        int count = (o.Trials + ClusterBenchmarkOptions.TrialsPerExperiment - 1) / ClusterBenchmarkOptions.TrialsPerExperiment;
        var ids = Enumerable.Range(0, count).Select(i => $"bench-{i:D5}").ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, _) =>
            {
                int first = i * ClusterBenchmarkOptions.TrialsPerExperiment + 1;
                int seeds = Math.Min(ClusterBenchmarkOptions.TrialsPerExperiment, o.Trials - first + 1);
                var spec = new TrainSpec
                {
                    Experiment = new ExperimentSection { Name = "bench", Seeds = [.. Enumerable.Range(first, seeds).Select(s => (long)s)], MaxRetries = 10 },
                    OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-bench-cluster"),
                };
                await client.GetGrain<IExperimentGrain>(ids[i]).SubmitAsync(new ExperimentRequest { Spec = spec });
            });
        progress($"Submitted {o.Trials} trials in {count} experiment(s).");
        return ids;
    }

    private static List<string> InventoryProblems(ClusterSnapshot snapshot, List<BenchSilo> silos, ClusterBenchmarkOptions o)
    {
        var problems = new List<string>();
        var duplicates = snapshot.Devices.GroupBy(d => d.ShardKey).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
            problems.Add($"devices listed twice: {string.Join(", ", duplicates)}");
        foreach (BenchSilo silo in silos)
        {
            int listed = snapshot.Devices.Count(d => d.Silo == silo.Name);
            if (listed != o.DevicesPerSilo)
                problems.Add($"{silo.Name} lists {listed} devices, not {o.DevicesPerSilo}");
        }
        var held = snapshot.Devices.Where(d => d.State != DeviceState.Free).ToList();
        if (held.Count > 0)
            problems.Add($"{held.Count} device(s) not free after every trial ended, e.g. {held[0].ShardKey} {held[0].State} {held[0].RunKey}");
        if (snapshot.Queue.Count > 0)
            problems.Add($"{snapshot.Queue.Count} run(s) still queued, e.g. {snapshot.Queue[0]}");
        return problems;
    }

    private static async Task UntilAsync(Func<Task<bool>> done, TimeSpan timeout, string what, CancellationToken cancellationToken, bool throwOnTimeout = true)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await done())
                    return;
            }
            catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException && DateTime.UtcNow < deadline)
            {
                // The cluster is still forming.
            }
            if (DateTime.UtcNow > deadline)
            {
                if (throwOnTimeout)
                    throw new TimeoutException($"the benchmark cluster did not get {what} within {timeout.TotalSeconds:F0} s");
                return;
            }
            await Task.Delay(200, cancellationToken);
        }
    }
}

/// <summary>Runs an action when disposed.</summary>
internal sealed class Unsubscribe(Action action) : IDisposable
{
    public void Dispose() => action();
}
