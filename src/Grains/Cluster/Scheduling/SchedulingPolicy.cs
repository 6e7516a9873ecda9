using System.Globalization;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// The cluster's scheduler as a pure function: state in, grants, preemptions and the explained queue out. The
/// inventory applies what it decides; tests check it table by table.
///
/// Order of service: priority class first (a project caps the class its members may use), then projects below their
/// guarantee, then the project holding the least devices per unit of weight, then, within a project, the user holding
/// the least, then the oldest place in line. A sweep's trials count as its owner's. The first run in that order that
/// does not fit holds everything behind it (no backfilling), so a run needing several devices is never starved by
/// smaller ones; a run whose project is at its max, or that needs more devices than the cluster has, is passed over.
///
/// Preemption (<see cref="PreemptionPass"/>), for that first blocked run and each one after it that victims can cover,
/// once each has waited PreemptAfter: devices are taken back from runs of a lower priority class, or (when the waiting
/// run is within its project's fair share) from runs of projects over theirs; whole runs (gangs) only. A project over a
/// lowered max gives back its newest runs.
/// </summary>
internal static class SchedulingPolicy
{
    /// <param name="explain">
    /// Also order and explain the whole queue (for people). Without it the decision stops at the first run that must
    /// wait, which is all that granting and preempting need: a grant pass then costs the users, not the queue.
    /// </param>
    public static SchedulingDecision Decide(SchedulingInput input, bool explain = true)
    {
        var state = new Ledger(input);
        var grants = new List<Grant>();
        var preemptions = state.OverMax();
        var order = new List<(DeviceAsk Ask, string? Why)>();
        DeviceAsk? blocked = null;
        PreemptionPass? pass = null;
        bool preempting = false;   // the runs from the first blocked one on are each covered by a preemption so far
        var free = input.Devices.Where(d => d.State == DeviceState.Free).ToList();
        var queues = new AskQueues(input);

        while (queues.Next(state) is DeviceAsk ask)
        {
            int want = state.Wanted(ask);
            ProjectQuota quota = input.Settings.QuotaOf(ask.Project);
            if (want > state.Healthy)
                order.Add((ask, $"needs {want} device(s); the cluster has {state.Healthy} healthy"));
            else if (quota.Max is int max && state.Usage(ask.Project) + want > max)
                order.Add((ask, $"project {ask.Project} at its max {state.Usage(ask.Project)}/{max}"));
            else if (blocked is null && free.Count >= want)
            {
                List<DeviceInfo> pick = Pick(free, want);
                free.RemoveAll(pick.Contains);
                grants.Add(new Grant(ask, pick));
                state.Charge(ask, want);
            }
            else if (blocked is null || preempting)
            {
                // The first run that must wait, and each one after it while preemption covers them (charged as served).
                blocked ??= ask;
                pass ??= new PreemptionPass(input, state, free.Count, preemptions);
                (bool covered, string why) = pass.For(ask);
                preempting = covered;
                // A run after the first that is not covered waits behind it, and says so.
                order.Add((ask, covered || ReferenceEquals(ask, blocked) ? why : null));
                if (!explain && !preempting)
                    break;
            }
            else
            {
                order.Add((ask, null));
                if (!explain)
                    break;
            }
        }

        var queue = new List<QueuedRun>(order.Count);
        for (int i = 0; i < order.Count; i++)
        {
            (DeviceAsk ask, string? why) = order[i];
            why ??= Behind(order, i, blocked!, state, free.Count);
            queue.Add(new QueuedRun(i + 1, ask, why, ask.Preempted));
        }
        return new SchedulingDecision(grants, preemptions, queue, state.Projects());
    }

    /// <summary>Why a run behind the first blocked one waits.</summary>
    private static string Behind(List<(DeviceAsk Ask, string? Why)> order, int index, DeviceAsk blocked, Ledger state, int free)
    {
        DeviceAsk ask = order[index].Ask;
        int higher = order.Take(index).Count(o => o.Ask.Priority > ask.Priority);
        if (higher > 0)
            return $"behind {higher} run(s) of higher priority";
        return string.Create(CultureInfo.InvariantCulture,
            $"behind {index} run(s) in fair-share order (first: {blocked.RunKey}, needs {state.Wanted(blocked)} device(s), {free} free); " +
            $"project {ask.Project} holds {state.Usage(ask.Project)} of its fair share {state.Share(ask.Project):0.##}");
    }

    /// <summary>Devices of one silo when one has enough free (a gang's ranks then share a host), else the first free ones.</summary>
    private static List<DeviceInfo> Pick(List<DeviceInfo> free, int want) =>
        free.GroupBy(d => d.Silo).Where(g => g.Count() >= want).Select(g => g.Take(want).ToList()).FirstOrDefault() ?? free.Take(want).ToList();
}
