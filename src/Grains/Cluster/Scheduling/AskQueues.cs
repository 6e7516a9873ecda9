using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// Waiting runs as one queue per (project, user), each in priority-then-place order; <see cref="Next"/> takes the head
/// that the ledger, as it stands at that moment, puts first. Costs the number of users per pick, not the queue's length.
/// </summary>
internal sealed class AskQueues
{
    private readonly List<Queue<DeviceAsk>> _queues;

    public AskQueues(IEnumerable<DeviceAsk> waiting) => _queues = waiting
        .GroupBy(a => (a.Project, a.User))
        .Select(g => new Queue<DeviceAsk>(g.OrderByDescending(a => a.Priority).ThenBy(a => a.QueuedUtc).ThenBy(a => a.RunKey, StringComparer.Ordinal)))
        .ToList();

    public DeviceAsk? Next(Ledger ledger)
    {
        Queue<DeviceAsk>? best = null;
        (int, int, double, int, DateTime, string) bestKey = default;
        foreach (Queue<DeviceAsk> queue in _queues)
        {
            if (queue.Count == 0)
                continue;
            var key = ledger.OrderKey(queue.Peek());
            if (best is null || Compare(key, bestKey) < 0)
                (best, bestKey) = (queue, key);
        }
        return best?.Dequeue();
    }

    private static int Compare((int, int, double, int, DateTime, string) a, (int, int, double, int, DateTime, string) b)
    {
        int c = a.Item1.CompareTo(b.Item1);
        if (c == 0) c = a.Item2.CompareTo(b.Item2);
        if (c == 0) c = a.Item3.CompareTo(b.Item3);
        if (c == 0) c = a.Item4.CompareTo(b.Item4);
        if (c == 0) c = a.Item5.CompareTo(b.Item5);
        return c != 0 ? c : string.CompareOrdinal(a.Item6, b.Item6);
    }
}
