using FlatLora.Abstractions.Experiments;

namespace FlatLora.Benchmarks.Cluster;

/// <summary>
/// Waits for the benchmark's trials to end, asking each experiment how it stands until it has ended.
/// </summary>
internal static class TrialWatch
{
    /// <returns>How many completed (the rest ended otherwise, or had not ended by the timeout).</returns>
    public static async Task<int> WaitForTrialsAsync(IClusterClient client, List<string> experiments, int trials, ClusterBenchmarkOptions o, Action<string> progress,
        CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + o.Timeout;
        DateTime nextReport = DateTime.UtcNow;
        // Only experiments still going are asked again: a status carries all of its seeds, and asking all of them every
        // second loaded the cluster being measured (allocation per trial went 741 -> 515 KB without it).
        var last = new Dictionary<string, ExperimentStatus>(StringComparer.Ordinal);
        while (true)
        {
            var going = experiments.Where(id => !last.TryGetValue(id, out ExperimentStatus? s) || !s.State.IsFinal()).ToList();
            ExperimentStatus?[] statuses = await Task.WhenAll(going.Select(id => StatusOrNullAsync(client, id)));
            for (int i = 0; i < going.Count; i++)
            {
                if (statuses[i] is { } status)
                    last[going[i]] = status;
            }
            int completed = last.Values.Sum(s => s.Seeds.Count(x => x.State == RunState.Completed));
            int final = last.Values.Sum(s => s.Seeds.Count(x => x.State.IsFinal()));
            if (final == trials || DateTime.UtcNow > deadline)
                return completed;
            if (DateTime.UtcNow >= nextReport)
            {
                progress($"{final}/{trials} trials finished");
                nextReport = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            }
            await Task.Delay(1000, cancellationToken);
        }
    }

    // A grain whose silo was just killed answers once it has moved: until then it counts as unfinished.
    private static async Task<ExperimentStatus?> StatusOrNullAsync(IClusterClient client, string id)
    {
        try
        {
            return await client.GetGrain<IExperimentGrain>(id).GetStatusAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }
}
