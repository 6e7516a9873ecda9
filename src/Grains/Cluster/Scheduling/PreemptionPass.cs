using System.Globalization;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Spec;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// Preemption within one decision: for the first run that must wait, then for each run after it in the scheduler's
/// order as if those before it were served, until one is not covered. Without the walk a project coming back to a
/// cluster that others borrowed got one run's devices per decision and checkpoint, and took minutes to reach its share.
///
/// Devices a run can count on: free ones no grant took, then those of runs already on their way out (preempted in an
/// earlier decision and still checkpointing, or in this one). Beyond them, whole victims: runs of a lower priority
/// class, or (fairness) runs of another project holding more than its fair share, or more than its guarantee when the
/// waiting run is within its own, and then only if the move makes the shares fairer in the max-min sense. Victims go by
/// least work since their last checkpoint, then lowest priority, then newest; a non-preemptible run within its
/// project's guarantee is never one. None are taken at all unless they cover the need, and none before the waiting
/// run has waited PreemptAfter.
/// </summary>
internal sealed class PreemptionPass
{
    private readonly SchedulingInput _input;
    private readonly Ledger _state;
    private readonly List<Preemption> _preemptions;
    private readonly HashSet<string> _safe;
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    // Devices per project of runs that keep them: victims taken out, runs served by this pass put in.
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    // Devices on their way back, in the order they are promised out: free ones first (run null), then runs leaving.
    private readonly Queue<(string? Run, int Devices)> _coming = new();

    public PreemptionPass(SchedulingInput input, Ledger state, int free, List<Preemption> preemptions)
    {
        _input = input;
        _state = state;
        _preemptions = preemptions;
        _safe = state.Protected();
        if (free > 0)
            _coming.Enqueue((null, free));
        foreach ((string run, RunClaim claim) in input.Running.OrderBy(r => r.Value.PreemptingSinceUtc ?? DateTime.MaxValue).ThenBy(r => r.Key, StringComparer.Ordinal))
        {
            bool leaving = claim.PreemptingSinceUtc is not null || preemptions.Any(p => p.RunKey == run);
            if (!leaving)
            {
                _held[claim.Ask.Project] = _held.GetValueOrDefault(claim.Ask.Project) + claim.Devices;
                continue;
            }
            _leaving.Add(run);
            _coming.Enqueue((run, claim.Devices));
        }
    }

    /// <summary>Whether <paramref name="ask"/> is served by devices on their way back or by new victims; why it waits, in words.</summary>
    public (bool Covered, string Why) For(DeviceAsk ask)
    {
        int want = _state.Wanted(ask);
        int coming = _coming.Sum(c => c.Devices);
        int free = _coming.Where(c => c.Run is null).Sum(c => c.Devices);
        string needs = $"needs {want} device(s), {free} free";
        if (want <= coming)
            return (true, Serve(ask, want));
        (List<(string RunKey, RunClaim Claim, PreemptionReason Reason)> victims, string none) = Victims(ask, want, want - coming);
        string onTheirWay = string.Join(", ", _coming.Where(c => c.Run is not null).Select(c => c.Run));
        if (victims.Count == 0)
            return (false, onTheirWay.Length > 0 ? $"{needs}; preempting {onTheirWay} (checkpoint in progress)" : $"{needs}; {none}");
        TimeSpan left = ask.WaitingSinceUtc + _input.Settings.PreemptAfter - _input.Now;
        if (left > TimeSpan.Zero)
            return (false, string.Create(CultureInfo.InvariantCulture,
                $"{needs}; preempts {string.Join(", ", victims.Select(v => v.RunKey))} in {Math.Ceiling(left.TotalSeconds):0} s if still waiting"));
        foreach ((string runKey, RunClaim claim, PreemptionReason reason) in victims)
        {
            string why = reason == PreemptionReason.Priority
                ? $"{ask.RunKey} of priority {ask.Priority.Name()} waits"
                : $"project {claim.Ask.Project} is over its fair share and {ask.RunKey} of project {ask.Project} waits within its share";
            _preemptions.Add(new Preemption(runKey, claim.Ask.Project, reason, why));
            _leaving.Add(runKey);
            _held[claim.Ask.Project] -= claim.Devices;
            _coming.Enqueue((runKey, claim.Devices));
        }
        return (true, Serve(ask, want));
    }

    /// <summary>Promises <paramref name="want"/> of the devices on their way to <paramref name="ask"/>, in order; names the runs they come from.</summary>
    private string Serve(DeviceAsk ask, int want)
    {
        var from = new List<string>();
        while (want > 0)
        {
            (string? run, int devices) = _coming.Dequeue();
            if (run is not null)
                from.Add(run);
            if (devices > want)
            {
                // The rest of a bigger run's devices stays first in line.
                var rest = _coming.ToList();
                _coming.Clear();
                _coming.Enqueue((run, devices - want));
                foreach (var r in rest)
                    _coming.Enqueue(r);
            }
            want -= Math.Min(want, devices);
        }
        _held[ask.Project] = _held.GetValueOrDefault(ask.Project) + _state.Wanted(ask);
        _state.Charge(ask, _state.Wanted(ask));
        return from.Count > 0 ? $"preempting {string.Join(", ", from)} (checkpoint in progress)" : "devices free as the pass decides";
    }

    /// <summary>Whole runs that cover the shortfall, in victim order, or none and why.</summary>
    private (List<(string, RunClaim, PreemptionReason)> Victims, string None) Victims(DeviceAsk ask, int want, int shortfall)
    {
        SchedulingSettings settings = _input.Settings;
        const string None = "no run of a lower priority, or of a project over its fair share, can be preempted for it";
        // Only runs that could qualify are looked at further: on a cluster where nobody may preempt anybody (one project,
        // one priority) this costs one pass over the running runs and no sort.
        var eligible = _input.Running
            .Where(r => !_leaving.Contains(r.Key) && r.Key != ask.RunKey
                        && (r.Value.Ask.Priority < ask.Priority || (r.Value.Ask.Project != ask.Project && r.Value.Ask.Priority <= ask.Priority)))
            .ToList();
        if (eligible.Count == 0)
            return ([], None);
        bool inGuarantee = _state.Usage(ask.Project) + want <= settings.QuotaOf(ask.Project).Guaranteed;
        var usage = new Dictionary<string, int>(_held, StringComparer.Ordinal);
        var picked = new List<(string, RunClaim, PreemptionReason)>();
        int covered = 0;
        var candidates = eligible.Where(r => !_safe.Contains(r.Key))
            .OrderBy(r => r.Value.WorkAtRisk(_input.Now)).ThenBy(r => r.Value.Ask.Priority).ThenByDescending(r => r.Value.GrantedUtc)
            .ThenBy(r => r.Key, StringComparer.Ordinal);
        foreach ((string runKey, RunClaim claim) in candidates)
        {
            string project = claim.Ask.Project;
            int holds = usage.GetValueOrDefault(project);
            bool overShare = inGuarantee ? holds - claim.Devices >= settings.QuotaOf(project).Guaranteed : holds > _state.Share(project) + 1e-9;
            PreemptionReason? reason = claim.Ask.Priority < ask.Priority ? PreemptionReason.Priority
                : project != ask.Project && claim.Ask.Priority <= ask.Priority && overShare ? PreemptionReason.FairShare : null;
            if (reason is null)
                continue;
            picked.Add((runKey, claim, reason.Value));
            usage[project] = holds - claim.Devices;
            covered += claim.Devices;
            if (covered < shortfall)
                continue;
            if (inGuarantee || picked.All(v => v.Item3 == PreemptionReason.Priority) || FairerAfter(settings, _held, usage, ask.Project, want))
                return (picked, "");
            return ([], string.Create(CultureInfo.InvariantCulture,
                $"preempting for it would not make the shares fairer (project {ask.Project} would hold {_held.GetValueOrDefault(ask.Project) + want} device(s) against a fair share of {_state.Share(ask.Project):0.##})"));
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
}
