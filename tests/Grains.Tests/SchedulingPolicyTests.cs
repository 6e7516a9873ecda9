using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains.Cluster.Scheduling;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

/// <summary>The scheduler as a pure function: state in, grants, preemptions and reasons out, table by table.</summary>
public sealed class SchedulingPolicyTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);

    private sealed class World
    {
        public List<DeviceInfo> Devices { get; } = [];
        public Dictionary<string, RunClaim> Running { get; } = new(StringComparer.Ordinal);
        public List<DeviceAsk> Waiting { get; } = [];
        public SchedulingSettings Settings { get; } = new() { PreemptAfter = TimeSpan.FromSeconds(30) };
        public DateTime Now { get; set; } = T0;

        public World(int devices, int silos = 1)
        {
            for (int i = 0; i < devices; i++)
                Devices.Add(new DeviceInfo { Silo = $"silo-{i % silos}", Device = $"cpu:{i / silos}", State = DeviceState.Free });
        }

        public World Project(string name, double weight = 1, int guaranteed = 0, int? max = null, string maxPriority = "high")
        {
            Settings.Projects[name] = new ProjectQuota { Weight = weight, Guaranteed = guaranteed, Max = max, MaxPriority = maxPriority };
            return this;
        }

        /// <summary>A run holding <paramref name="devices"/> free devices from now on.</summary>
        public World Runs(string run, string project, int devices = 1, PriorityClass priority = PriorityClass.Normal, string user = "u",
            bool preemptible = true, double grantedSecondsAgo = 100, double? checkpointSecondsAgo = null)
        {
            for (int n = 0; n < devices; n++)
            {
                int i = Devices.FindIndex(d => d.State == DeviceState.Free);
                Devices[i] = Devices[i] with { State = DeviceState.Busy, RunKey = run };
            }
            Running[run] = new RunClaim
            {
                Ask = Ask(run, project, devices, priority, user, preemptible),
                Devices = devices,
                GrantedUtc = T0.AddSeconds(-grantedSecondsAgo),
                CheckpointUtc = checkpointSecondsAgo is double c ? T0.AddSeconds(-c) : null,
            };
            return this;
        }

        public World Waits(string run, string project, int devices = 1, PriorityClass priority = PriorityClass.Normal, string user = "u",
            double queuedSecondsAgo = 60, double? waitingSecondsAgo = null)
        {
            Waiting.Add(Ask(run, project, devices, priority, user, true, queuedSecondsAgo, waitingSecondsAgo ?? queuedSecondsAgo));
            return this;
        }

        public SchedulingDecision Decide() => SchedulingPolicy.Decide(new SchedulingInput(Devices, Running, Waiting, Settings, Now));

        private static DeviceAsk Ask(string run, string project, int devices, PriorityClass priority, string user, bool preemptible,
            double queuedSecondsAgo = 0, double waitingSecondsAgo = 0) => new()
        {
            RunKey = run, Count = devices, Minimum = devices, Project = project, User = user, Priority = priority, Preemptible = preemptible,
            QueuedUtc = T0.AddSeconds(-queuedSecondsAgo), WaitingSinceUtc = T0.AddSeconds(-waitingSecondsAgo),
        };
    }

    private static List<string> Granted(SchedulingDecision d) => d.Grants.Select(g => g.Ask.RunKey).ToList();

    private static List<string> Preempted(SchedulingDecision d) => d.Preemptions.Select(p => p.RunKey).ToList();

    [Fact]
    public void A_later_run_of_an_idle_project_goes_before_a_busy_projects_backlog()
    {
        // Project a's sweep queued first and holds one of two devices; b's run queued later. The free device goes to b.
        var world = new World(2).Project("a").Project("b").Runs("a/1", "a");
        for (int i = 2; i <= 12; i++)
            world.Waits($"a/{i}", "a", queuedSecondsAgo: 100 - i);
        world.Waits("b/1", "b", queuedSecondsAgo: 1);
        SchedulingDecision d = world.Decide();
        Assert.Equal(["b/1"], Granted(d));
        Assert.Equal("a/2", d.Queue[0].Ask.RunKey);
    }

    [Theory]
    // weights a:b, devices → fair shares
    [InlineData(1, 1, 4, 2, 2)]
    [InlineData(3, 1, 4, 3, 1)]
    [InlineData(1, 3, 8, 2, 6)]
    public void Contended_devices_go_by_weight(double wa, double wb, int devices, int expectA, int expectB)
    {
        var world = new World(devices).Project("a", wa).Project("b", wb);
        for (int i = 0; i < devices; i++)
        {
            world.Waits($"a/{i}", "a", queuedSecondsAgo: 200 - i);   // a queued everything first
            world.Waits($"b/{i}", "b", queuedSecondsAgo: 100 - i);
        }
        SchedulingDecision d = world.Decide();
        Assert.Equal(expectA, d.Grants.Count(g => g.Ask.Project == "a"));
        Assert.Equal(expectB, d.Grants.Count(g => g.Ask.Project == "b"));
        Assert.Equal(expectA, d.Projects.Single(p => p.Project == "a").FairShare, 6);
    }

    [Fact]
    public void Three_projects_share_max_min_fairly_and_a_small_demand_leaves_its_rest_to_the_others()
    {
        // 9 devices, c wants only 1: a and b split the other 8 by weight 1:1.
        var world = new World(9).Project("a").Project("b").Project("c");
        for (int i = 0; i < 9; i++)
        {
            world.Waits($"a/{i}", "a", queuedSecondsAgo: 300 - i);
            world.Waits($"b/{i}", "b", queuedSecondsAgo: 200 - i);
        }
        world.Waits("c/0", "c", queuedSecondsAgo: 1);
        SchedulingDecision d = world.Decide();
        Assert.Equal(4, d.Grants.Count(g => g.Ask.Project == "a"));
        Assert.Equal(4, d.Grants.Count(g => g.Ask.Project == "b"));
        Assert.Equal(1, d.Grants.Count(g => g.Ask.Project == "c"));
        Assert.Equal(1.0, d.Projects.Single(p => p.Project == "c").FairShare, 6);
        Assert.Equal(4.0, d.Projects.Single(p => p.Project == "a").FairShare, 6);
    }

    [Fact]
    public void An_idle_share_is_borrowed_and_taken_back_after_preempt_after()
    {
        // a borrowed all 4 devices while b was idle; b's run waits.
        var world = new World(4).Project("a").Project("b").Runs("a/1", "a").Runs("a/2", "a").Runs("a/3", "a").Runs("a/4", "a", grantedSecondsAgo: 10);
        world.Waits("b/1", "b", queuedSecondsAgo: 5);
        SchedulingDecision early = world.Decide();
        Assert.Empty(early.Preemptions);
        Assert.Contains("preempts a/4 in 25 s if still waiting", early.Queue.Single().Why);

        world.Now = T0.AddSeconds(26);
        SchedulingDecision later = world.Decide();
        Preemption p = Assert.Single(later.Preemptions);
        Assert.Equal(("a/4", PreemptionReason.FairShare), (p.RunKey, p.Reason));   // the newest (least work since its start)
        Assert.Equal("preempting a/4 (checkpoint in progress)", later.Queue.Single().Why);
    }

    [Fact]
    public void One_pass_preempts_for_every_waiting_run_up_to_the_fair_share_not_one_run_at_a_time()
    {
        // a borrowed all 6 devices; b comes back with 4 runs. b's fair share is 3: three of a's runs go in one decision
        // (the newest first), each named for the run it serves, and b's fourth waits behind them.
        var world = new World(6).Project("a").Project("b");
        for (int i = 1; i <= 6; i++)
            world.Runs($"a/{i}", "a", grantedSecondsAgo: 100 - i);
        world.Waits("a/7", "a", queuedSecondsAgo: 500);
        for (int i = 1; i <= 4; i++)
            world.Waits($"b/{i}", "b", queuedSecondsAgo: 40 - i);
        SchedulingDecision d = world.Decide();
        Assert.Equal(["a/6", "a/5", "a/4"], Preempted(d));
        Assert.All(d.Preemptions, p => Assert.Equal(PreemptionReason.FairShare, p.Reason));
        Assert.Equal(["preempting a/6 (checkpoint in progress)", "preempting a/5 (checkpoint in progress)", "preempting a/4 (checkpoint in progress)"],
            d.Queue.Take(3).Select(q => q.Why));
        Assert.Equal(["b/1", "b/2", "b/3"], d.Queue.Take(3).Select(q => q.Ask.RunKey));

        // The next pass, with those three still checkpointing, preempts nothing more: they are counted as on their way.
        foreach (string run in Preempted(d))
            world.Running[run] = world.Running[run] with { PreemptingSinceUtc = T0 };
        SchedulingDecision next = world.Decide();
        Assert.Empty(next.Preemptions);
        Assert.Equal("preempting a/4 (checkpoint in progress)", next.Queue[0].Why);   // runs on their way are promised by when they were asked, then name
    }

    [Fact]
    public void A_run_over_its_own_share_does_not_preempt()
    {
        // 3 devices, a holds 2 and b 1, both want more: b getting another would put b over its 1.5.
        var world = new World(3).Project("a").Project("b").Runs("a/1", "a").Runs("a/2", "a").Runs("b/1", "b");
        world.Waits("a/3", "a", queuedSecondsAgo: 500).Waits("b/2", "b", queuedSecondsAgo: 400);
        SchedulingDecision d = world.Decide();
        Assert.Empty(d.Grants);
        Assert.Empty(d.Preemptions);
        Assert.Contains("would not make the shares fairer", d.Queue[0].Why);
    }

    [Fact]
    public void A_guarantee_is_served_first()
    {
        var world = new World(4).Project("a", weight: 10).Project("b", guaranteed: 3);
        for (int i = 0; i < 4; i++)
            world.Waits($"a/{i}", "a", queuedSecondsAgo: 100 - i).Waits($"b/{i}", "b", queuedSecondsAgo: 50 - i);
        SchedulingDecision d = world.Decide();
        Assert.Equal(3, d.Grants.Count(g => g.Ask.Project == "b"));
        Assert.Equal(1, d.Grants.Count(g => g.Ask.Project == "a"));
    }

    [Fact]
    public void A_project_at_its_max_waits_and_says_so_while_others_go_ahead()
    {
        var world = new World(4).Project("a", max: 1).Project("b").Runs("a/1", "a");
        world.Waits("a/2", "a", queuedSecondsAgo: 100).Waits("b/1", "b", queuedSecondsAgo: 1);
        SchedulingDecision d = world.Decide();
        Assert.Equal(["b/1"], Granted(d));
        Assert.Equal("project a at its max 1/1", d.Queue.Single().Why);
    }

    [Fact]
    public void Higher_priority_goes_first_and_preempts_a_lower_one_after_preempt_after()
    {
        var world = new World(2).Project("a").Project("c").Runs("a/1", "a").Runs("a/2", "a", priority: PriorityClass.Low);
        world.Waits("a/3", "a", queuedSecondsAgo: 600).Waits("c/1", "c", priority: PriorityClass.High, queuedSecondsAgo: 31);
        SchedulingDecision d = world.Decide();
        Assert.Equal("c/1", d.Queue[0].Ask.RunKey);
        Preemption p = Assert.Single(d.Preemptions);
        Assert.Equal(("a/2", PreemptionReason.Priority), (p.RunKey, p.Reason));   // as much work at risk as a/1: the lower priority goes
        Assert.Equal("behind 1 run(s) of higher priority", d.Queue[1].Why);
    }

    [Fact]
    public void Within_a_user_priority_then_place_decides_and_between_users_the_one_holding_less()
    {
        var world = new World(2).Project("a").Runs("a/alice-1", "a", user: "alice");
        world.Waits("a/alice-2", "a", user: "alice", queuedSecondsAgo: 100)
             .Waits("a/alice-3", "a", user: "alice", priority: PriorityClass.High, queuedSecondsAgo: 10)
             .Waits("a/bob-1", "a", user: "bob", queuedSecondsAgo: 5);
        SchedulingDecision d = world.Decide();
        Assert.Equal(["a/alice-3"], Granted(d));   // priority first, across users
        var world2 = new World(2).Project("a").Runs("a/alice-1", "a", user: "alice");
        world2.Waits("a/alice-2", "a", user: "alice", queuedSecondsAgo: 100).Waits("a/bob-1", "a", user: "bob", queuedSecondsAgo: 5);
        Assert.Equal(["a/bob-1"], Granted(world2.Decide()));   // bob holds nothing, alice one
    }

    [Fact]
    public void A_gang_is_not_starved_by_smaller_runs_behind_it_and_takes_whole_victims()
    {
        // b's 2-rank run is first in line (b holds nothing); a 1-device run of a behind it must not take the free device.
        var world = new World(3, silos: 3).Project("a").Project("b").Runs("a/1", "a").Runs("a/2", "a", devices: 1, grantedSecondsAgo: 5);
        world.Waits("b/gang", "b", devices: 2, queuedSecondsAgo: 40).Waits("a/3", "a", queuedSecondsAgo: 500);
        SchedulingDecision d = world.Decide();
        Assert.Empty(d.Grants);
        Assert.Equal(["a/2"], Preempted(d));   // one victim covers the shortfall of one; the newest
        Assert.StartsWith("behind 1 run(s) in fair-share order (first: b/gang, needs 2 device(s), 1 free)", d.Queue[1].Why);
    }

    [Fact]
    public void Victims_are_chosen_by_least_work_since_checkpoint_then_lowest_priority_then_newest()
    {
        var world = new World(3).Project("a").Project("b")
            .Runs("a/old-ckpt", "a", grantedSecondsAgo: 500, checkpointSecondsAgo: 400)
            .Runs("a/fresh-ckpt", "a", grantedSecondsAgo: 600, checkpointSecondsAgo: 2)
            .Runs("a/new", "a", grantedSecondsAgo: 50);
        world.Waits("b/1", "b", queuedSecondsAgo: 31);
        Assert.Equal(["a/fresh-ckpt"], Preempted(world.Decide()));

        var tie = new World(3).Project("a").Project("b")
            .Runs("a/normal-new", "a", grantedSecondsAgo: 50)
            .Runs("a/low", "a", priority: PriorityClass.Low, grantedSecondsAgo: 50)
            .Runs("a/normal-old", "a", grantedSecondsAgo: 50);
        tie.Waits("b/1", "b", queuedSecondsAgo: 31);
        Assert.Equal(["a/low"], Preempted(tie.Decide()));
    }

    [Fact]
    public void An_opt_out_run_is_safe_within_its_guarantee_only()
    {
        var world = new World(2).Project("a", guaranteed: 1).Project("b")
            .Runs("a/safe", "a", preemptible: false, grantedSecondsAgo: 200)
            .Runs("a/beyond", "a", preemptible: false, grantedSecondsAgo: 100);
        world.Waits("b/1", "b", queuedSecondsAgo: 31);
        Assert.Equal(["a/beyond"], Preempted(world.Decide()));

        var guarded = new World(1).Project("a", guaranteed: 1).Project("b").Runs("a/safe", "a", preemptible: false);
        guarded.Waits("b/1", "b", queuedSecondsAgo: 31);
        SchedulingDecision d = guarded.Decide();
        Assert.Empty(d.Preemptions);
        Assert.Contains("no run of a lower priority, or of a project over its fair share, can be preempted", d.Queue.Single().Why);
    }

    [Fact]
    public void Nothing_is_preempted_twice_and_nothing_when_victims_cannot_cover_the_need()
    {
        var world = new World(2).Project("a").Project("b").Runs("a/1", "a").Runs("a/2", "a");
        world.Running["a/2"] = world.Running["a/2"] with { PreemptingSinceUtc = T0.AddSeconds(-3) };
        world.Waits("b/1", "b", queuedSecondsAgo: 60);
        SchedulingDecision d = world.Decide();
        Assert.Empty(d.Preemptions);
        Assert.Equal("preempting a/2 (checkpoint in progress)", d.Queue.Single().Why);

        // b needs both devices; a/1 is protected by a's guarantee, and a/2 alone frees one of the two.
        var gang = new World(2).Project("a").Project("b").Runs("a/1", "a", preemptible: false).Runs("a/2", "a");
        gang.Settings.Projects["a"].Guaranteed = 1;
        gang.Waits("b/gang", "b", devices: 2, queuedSecondsAgo: 60);
        SchedulingDecision none = gang.Decide();
        Assert.Empty(none.Preemptions);   // a/1 is protected, a/2 alone frees one of the two needed
    }

    [Fact]
    public void A_lowered_max_preempts_the_projects_newest_runs_gracefully()
    {
        var world = new World(4).Project("a", max: 1).Runs("a/1", "a", grantedSecondsAgo: 300).Runs("a/2", "a", grantedSecondsAgo: 200).Runs("a/3", "a", grantedSecondsAgo: 100);
        SchedulingDecision d = world.Decide();
        Assert.Equal(["a/3", "a/2"], Preempted(d));
        Assert.All(d.Preemptions, p => Assert.Equal(PreemptionReason.Quota, p.Reason));
    }

    [Fact]
    public void A_run_bigger_than_the_cluster_does_not_hold_up_the_queue()
    {
        var world = new World(2).Project("a");
        world.Waits("a/huge", "a", devices: 4, queuedSecondsAgo: 100).Waits("a/small", "a", queuedSecondsAgo: 1);
        world.Waiting[0] = world.Waiting[0] with { Minimum = 4 };
        SchedulingDecision d = world.Decide();
        Assert.Equal(["a/small"], Granted(d));
        Assert.Equal("needs 4 device(s); the cluster has 2 healthy", d.Queue.Single().Why);
    }

    [Fact]
    public void A_gang_prefers_devices_of_one_silo()
    {
        var world = new World(4, silos: 2).Project("a");
        world.Waits("a/gang", "a", devices: 2);
        Grant grant = Assert.Single(world.Decide().Grants);
        Assert.Single(grant.Devices.Select(d => d.Silo).Distinct());
    }

    [Fact]
    public void The_same_state_gives_the_same_decision()
    {
        World Build()
        {
            var w = new World(5, silos: 2).Project("a", 2).Project("b").Runs("a/1", "a").Runs("b/1", "b", devices: 2);
            for (int i = 0; i < 20; i++)
                w.Waits($"{(i % 3 == 0 ? "b" : "a")}/q{i}", i % 3 == 0 ? "b" : "a", devices: 1 + i % 2, queuedSecondsAgo: 100 - i, user: $"u{i % 4}");
            return w;
        }
        SchedulingDecision one = Build().Decide(), two = Build().Decide();
        Assert.Equal(Granted(one), Granted(two));
        Assert.Equal(one.Queue.Select(q => (q.Ask.RunKey, q.Why)), two.Queue.Select(q => (q.Ask.RunKey, q.Why)));
        // Granting without explaining the queue decides the same.
        World w = Build();
        SchedulingDecision quick = SchedulingPolicy.Decide(new SchedulingInput(w.Devices, w.Running, w.Waiting, w.Settings, w.Now), explain: false);
        Assert.Equal(Granted(one), Granted(quick));
        Assert.Equal(Preempted(one), Preempted(quick));
    }
}
