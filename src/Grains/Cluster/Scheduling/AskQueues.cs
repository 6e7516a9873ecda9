using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// Waiting runs as one queue per (project, user), each in priority-then-place order; <see cref="Next"/> takes the head
/// that the ledger, as it stands at that moment, puts first. Costs the number of users per pick, not the queue's length
/// (the inventory keeps each user's queue sorted; tests hand in a flat list, which is grouped and sorted here).
/// </summary>
internal sealed class AskQueues
{
    /// <summary>The order within one user: priority class, then place in line, then run key.</summary>
    public static readonly IComparer<DeviceAsk> WithinUser = Comparer<DeviceAsk>.Create((a, b) =>
    {
        int c = b.Priority.CompareTo(a.Priority);
        if (c == 0) c = a.QueuedUtc.CompareTo(b.QueuedUtc);
        return c != 0 ? c : string.CompareOrdinal(a.RunKey, b.RunKey);
    });

    private readonly List<Head> _heads;

    /// <summary>Lazily read queues; <see cref="SchedulingInput.WaitingByUser"/> when the caller keeps them sorted already.</summary>
    public AskQueues(SchedulingInput input) => _heads =
        (input.WaitingByUser ?? input.Waiting.GroupBy(a => (a.Project, a.User)).Select(g => (IEnumerable<DeviceAsk>)g.Order(WithinUser).ToList()).ToList())
        .Select(g => new Head(g.GetEnumerator())).Where(h => h.Current is not null).ToList();

    public DeviceAsk? Next(Ledger ledger)
    {
        Head? best = null;
        (int, int, double, int, DateTime, string) bestKey = default;
        foreach (Head head in _heads)
        {
            if (head.Current is not { } ask)
                continue;
            var key = ledger.OrderKey(ask);
            if (best is null || Compare(key, bestKey) < 0)
                (best, bestKey) = (head, key);
        }
        return best?.Take();
    }

    /// <summary>One user's queue, read one ask at a time.</summary>
    private sealed class Head(IEnumerator<DeviceAsk> asks)
    {
        public DeviceAsk? Current { get; private set; } = asks.MoveNext() ? asks.Current : null;

        public DeviceAsk Take()
        {
            DeviceAsk taken = Current!;
            Current = asks.MoveNext() ? asks.Current : null;
            return taken;
        }
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
