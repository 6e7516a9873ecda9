using System.Runtime.InteropServices;
using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;

namespace FlatLora.Grains.Cluster.Scheduling;

/// <summary>
/// The scheduler's running account while it decides: devices held per project and per user (charged as it grants),
/// and each project's fair share of the healthy devices given what every project holds and asks for.
/// </summary>
internal sealed class Ledger
{
    private readonly SchedulingInput _input;
    private readonly Dictionary<string, int> _projectUsage = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), int> _userUsage = [];
    private readonly Dictionary<string, double> _share;
    private readonly Dictionary<string, int> _waiting = new(StringComparer.Ordinal);

    public Ledger(SchedulingInput input)
    {
        _input = input;
        Healthy = input.Devices.Count(d => d.State != DeviceState.Down);
        foreach (RunClaim claim in input.Running.Values)
            Add(claim.Ask, claim.Devices);
        var demand = new Dictionary<string, int>(_projectUsage, StringComparer.Ordinal);
        if (input.WaitingDemand is { } kept)
        {
            foreach ((string project, (int runs, int devices)) in kept)
            {
                demand[project] = demand.GetValueOrDefault(project) + devices;
                _waiting[project] = runs;
            }
        }
        else
        {
            foreach (DeviceAsk ask in input.Waiting)
            {
                demand[ask.Project] = demand.GetValueOrDefault(ask.Project) + ask.Count;
                _waiting[ask.Project] = _waiting.GetValueOrDefault(ask.Project) + 1;
            }
        }
        foreach (string project in input.Settings.Projects.Keys)
            demand.TryAdd(project, 0);
        _share = FairShare.Compute(demand.ToDictionary(d => d.Key, d =>
        {
            ProjectQuota q = input.Settings.QuotaOf(d.Key);
            return new FairShare.Claim(q.Weight, q.Guaranteed, q.Max, d.Value);
        }, StringComparer.Ordinal), Healthy);
    }

    public int Healthy { get; }

    public int Usage(string project) => _projectUsage.GetValueOrDefault(project);

    public int UserUsage(DeviceAsk ask) => _userUsage.GetValueOrDefault((ask.Project, ask.User));

    public double Share(string project) => _share.GetValueOrDefault(project);

    /// <summary>What an ask takes: its count, or, when the cluster has fewer healthy devices and the run may shrink, what exists.</summary>
    public int Wanted(DeviceAsk ask) =>
        Healthy < ask.Count && ask.Minimum > 0 ? Math.Max(Math.Min(ask.Minimum, ask.Count), Healthy) : ask.Count;

    public void Charge(DeviceAsk ask, int devices) => Add(ask, devices);

    // One lookup per table: the ledger charges every running run on every decision.
    private void Add(DeviceAsk ask, int devices)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(_projectUsage, ask.Project, out _) += devices;
        CollectionsMarshal.GetValueRefOrAddDefault(_userUsage, (ask.Project, ask.User), out _) += devices;
    }

    /// <summary>
    /// The order key of a waiting run: priority class, below its guarantee, devices per weight of its project, its user's
    /// devices, its place in line. Smaller is served first.
    /// </summary>
    public (int, int, double, int, DateTime, string) OrderKey(DeviceAsk ask)
    {
        ProjectQuota quota = _input.Settings.QuotaOf(ask.Project);
        int usage = Usage(ask.Project);
        return (-(int)ask.Priority, usage < quota.Guaranteed ? 0 : 1, usage / quota.Weight, UserUsage(ask), ask.QueuedUtc, ask.RunKey);
    }

    /// <summary>Non-preemptible runs that fit their project's guarantee, oldest grant first: these are never preempted.</summary>
    public HashSet<string> Protected()
    {
        var safe = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in _input.Running.Where(r => !r.Value.Ask.Preemptible).GroupBy(r => r.Value.Ask.Project))
        {
            int budget = _input.Settings.QuotaOf(project.Key).Guaranteed;
            foreach (var run in project.OrderBy(r => r.Value.GrantedUtc).ThenBy(r => r.Key, StringComparer.Ordinal))
            {
                if (run.Value.Devices > budget)
                    break;
                budget -= run.Value.Devices;
                safe.Add(run.Key);
            }
        }
        return safe;
    }

    /// <summary>Projects over a max (it was lowered while they ran): their newest runs give devices back until they fit.</summary>
    public List<Preemption> OverMax()
    {
        var preemptions = new List<Preemption>();
        if (_input.Settings.Projects.Values.All(q => q.Max is null))
            return preemptions;   // the usual case, and a pass over every running run saved
        foreach (var project in _input.Running.GroupBy(r => r.Value.Ask.Project))
        {
            if (_input.Settings.QuotaOf(project.Key).Max is not int max)
                continue;
            int holding = project.Where(r => r.Value.PreemptingSinceUtc is null).Sum(r => r.Value.Devices);
            foreach (var run in project.Where(r => r.Value.PreemptingSinceUtc is null)
                         .OrderByDescending(r => r.Value.GrantedUtc).ThenBy(r => r.Key, StringComparer.Ordinal))
            {
                if (holding <= max)
                    break;
                holding -= run.Value.Devices;
                preemptions.Add(new Preemption(run.Key, project.Key, PreemptionReason.Quota,
                    $"project {project.Key} holds more than its max of {max} device(s) (the configuration changed)"));
            }
        }
        return preemptions;
    }

    public IReadOnlyList<ProjectUsage> Projects() => _share.Keys.Union(_projectUsage.Keys).Order(StringComparer.Ordinal).Select(p =>
    {
        ProjectQuota q = _input.Settings.QuotaOf(p);
        return new ProjectUsage(p, Usage(p), Share(p), q.Guaranteed, q.Max, _waiting.GetValueOrDefault(p), q.Weight);
    }).ToList();
}
