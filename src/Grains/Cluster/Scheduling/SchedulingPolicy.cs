using System.Globalization;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Spec;

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
/// Preemption, for that first blocked run only, once it has waited PreemptAfter: devices are taken back from runs of a
/// lower priority class, or (when the waiting run is within its project's fair share) from runs of projects over
/// theirs. Victims: least work since their last checkpoint, then lowest priority, then newest; whole runs (gangs) only;
/// only as many as cover the shortfall, and none at all if they cannot cover it. A non-preemptible run is safe while
/// its project's non-preemptible runs fit its guarantee. A project over a lowered max gives back its newest runs.
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
        var free = input.Devices.Where(d => d.State == DeviceState.Free).ToList();
        var queues = new AskQueues(input);

        while ((explain || blocked is null) && queues.Next(state) is DeviceAsk ask)
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
            else
            {
                blocked ??= ask;
                order.Add((ask, null));
            }
        }

        string? blockedWhy = blocked is null ? null : Preempt(input, state, blocked, free.Count, preemptions);
        var queue = new List<QueuedRun>(order.Count);
        for (int i = 0; i < order.Count; i++)
        {
            (DeviceAsk ask, string? why) = order[i];
            why ??= ReferenceEquals(ask, blocked) ? blockedWhy! : Behind(order, i, blocked!, state, free.Count);
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

    /// <summary>Decides preemptions for the first blocked run; returns why it waits.</summary>
    private static string Preempt(SchedulingInput input, Ledger state, DeviceAsk blocked, int free, List<Preemption> preemptions)
    {
        int want = state.Wanted(blocked);
        var inFlight = input.Running.Where(r => r.Value.PreemptingSinceUtc is not null).Select(r => r.Key)
            .Concat(preemptions.Select(p => p.RunKey)).Distinct().ToList();
        int soon = inFlight.Sum(k => input.Running[k].Devices);
        int shortfall = want - free - soon;
        string needs = $"needs {want} device(s), {free} free";
        if (shortfall <= 0)
            return $"preempting {string.Join(", ", inFlight)} (checkpoint in progress)";
        (List<(string RunKey, RunClaim Claim, PreemptionReason Reason)> victims, string? none) = Victims(input, state, blocked, want, shortfall);
        if (victims.Count == 0)
            return inFlight.Count > 0 ? $"{needs}; preempting {string.Join(", ", inFlight)} (checkpoint in progress)" : $"{needs}; {none}";
        TimeSpan left = blocked.WaitingSinceUtc + input.Settings.PreemptAfter - input.Now;
        string names = string.Join(", ", victims.Select(v => v.RunKey));
        if (left > TimeSpan.Zero)
            return string.Create(CultureInfo.InvariantCulture, $"{needs}; preempts {names} in {Math.Ceiling(left.TotalSeconds):0} s if still waiting");
        foreach ((string runKey, RunClaim claim, PreemptionReason reason) in victims)
        {
            string why = reason == PreemptionReason.Priority
                ? $"{blocked.RunKey} of priority {blocked.Priority.Name()} waits"
                : $"project {claim.Ask.Project} is over its fair share and {blocked.RunKey} of project {blocked.Project} waits within its share";
            preemptions.Add(new Preemption(runKey, claim.Ask.Project, reason, why));
        }
        return $"preempting {string.Join(", ", inFlight.Concat(victims.Select(v => v.RunKey)))} (checkpoint in progress)";
    }

    /// <summary>
    /// Whole runs that cover the shortfall, in victim order, or none. Lower-priority runs always qualify. Runs of another
    /// project qualify for fairness when that project holds more than its fair share (or, for a run within its own
    /// project's guarantee, more than its guarantee), and then only if the move makes the shares fairer in the max-min
    /// sense: the devices per weight of the projects involved, sorted, rise. That last check is what keeps two projects
    /// from preempting each other back and forth over an odd device.
    /// </summary>
    private static (List<(string, RunClaim, PreemptionReason)> Victims, string? None) Victims(
        SchedulingInput input, Ledger state, DeviceAsk blocked, int want, int shortfall)
    {
        SchedulingSettings settings = input.Settings;
        const string None = "no run of a lower priority, or of a project over its fair share, can be preempted for it";
        // Only runs that could qualify are looked at further: on a cluster where nobody may preempt anybody (one project,
        // one priority) a decision costs one pass over the running runs and no sort.
        var eligible = input.Running
            .Where(r => r.Value.PreemptingSinceUtc is null && r.Key != blocked.RunKey
                        && (r.Value.Ask.Priority < blocked.Priority
                            || (r.Value.Ask.Project != blocked.Project && r.Value.Ask.Priority <= blocked.Priority)))
            .ToList();
        if (eligible.Count == 0)
            return ([], None);
        bool inGuarantee = state.Usage(blocked.Project) + want <= settings.QuotaOf(blocked.Project).Guaranteed;
        HashSet<string> safe = state.Protected();
        var usage = input.Running.Values.GroupBy(c => c.Ask.Project).ToDictionary(g => g.Key, g => g.Sum(c => c.Devices), StringComparer.Ordinal);
        var before = new Dictionary<string, int>(usage, StringComparer.Ordinal);
        var picked = new List<(string, RunClaim, PreemptionReason)>();
        int covered = 0;
        var candidates = eligible.Where(r => !safe.Contains(r.Key))
            .OrderBy(r => r.Value.WorkAtRisk(input.Now)).ThenBy(r => r.Value.Ask.Priority).ThenByDescending(r => r.Value.GrantedUtc)
            .ThenBy(r => r.Key, StringComparer.Ordinal);
        foreach ((string runKey, RunClaim claim) in candidates)
        {
            string project = claim.Ask.Project;
            bool overShare = inGuarantee
                ? usage[project] - claim.Devices >= settings.QuotaOf(project).Guaranteed
                : usage[project] > state.Share(project) + 1e-9;
            PreemptionReason? reason = claim.Ask.Priority < blocked.Priority ? PreemptionReason.Priority
                : project != blocked.Project && claim.Ask.Priority <= blocked.Priority && overShare ? PreemptionReason.FairShare : null;
            if (reason is null)
                continue;
            picked.Add((runKey, claim, reason.Value));
            usage[project] -= claim.Devices;
            covered += claim.Devices;
            if (covered < shortfall)
                continue;
            if (inGuarantee || picked.All(v => v.Item3 == PreemptionReason.Priority) || FairerAfter(settings, before, usage, blocked.Project, want))
                return (picked, null);
            return ([], string.Create(CultureInfo.InvariantCulture,
                $"preempting for it would not make the shares fairer (project {blocked.Project} would hold {state.Usage(blocked.Project) + want} device(s) against a fair share of {state.Share(blocked.Project):0.##})"));
        }
        return ([], None);
    }

    /// <summary>Whether the devices per weight of the projects involved, sorted ascending, rise lexicographically.</summary>
    private static bool FairerAfter(SchedulingSettings settings, Dictionary<string, int> before, Dictionary<string, int> after, string gainer, int gained)
    {
        var involved = after.Keys.Where(p => after[p] != before.GetValueOrDefault(p)).Append(gainer).Distinct(StringComparer.Ordinal).ToList();
        double Ratio(string p, int devices) => devices / settings.QuotaOf(p).Weight;
        var was = involved.Select(p => Ratio(p, before.GetValueOrDefault(p))).Order().ToList();
        var will = involved.Select(p => Ratio(p, after.GetValueOrDefault(p) + (p == gainer ? gained : 0))).Order().ToList();
        for (int i = 0; i < was.Count; i++)
        {
            if (Math.Abs(will[i] - was[i]) > 1e-9)
                return will[i] > was[i];
        }
        return false;
    }

    /// <summary>Devices of one silo when one has enough free (a gang's ranks then share a host), else the first free ones.</summary>
    private static List<DeviceInfo> Pick(List<DeviceInfo> free, int want) =>
        free.GroupBy(d => d.Silo).Where(g => g.Count() >= want).Select(g => g.Take(want).ToList()).FirstOrDefault() ?? free.Take(want).ToList();
}
