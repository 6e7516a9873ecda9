using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Authorization;
using FlatLora.Api.Identity;

namespace FlatLora.Api.Tests;

/// <summary>The one authorization policy, table by table: who may do what to whose run.</summary>
public class AccessPolicyTests
{
    private static readonly Caller Alice = new("alice", "nlp", false, "certificate"), Carol = new("carol", "nlp", false, "certificate"),
        Bob = new("bob", "vision", false, "certificate"), Dave = new("dave", "nlp", false, "token"), Root = new("root", "ops", true, "certificate");
    private static readonly RunOwner AlicesRun = new("alice", "nlp");

    private static AuthSettings Team() => new()
    {
        Admins = ["eve"],
        Projects = new(StringComparer.Ordinal)
        {
            ["nlp"] = new ProjectSettings { Members = ["alice", "carol"], Admins = ["carol"] },
            ["vision"] = new ProjectSettings(),
        },
    };

    public static TheoryData<string, ApiAction, bool> Table => new()
    {
        // The owner may do everything to its run.
        { "alice", ApiAction.Read, true }, { "alice", ApiAction.Watch, true }, { "alice", ApiAction.Export, true }, { "alice", ApiAction.Cancel, true },
        // Another project's user: nothing.
        { "bob", ApiAction.Read, false }, { "bob", ApiAction.Watch, false }, { "bob", ApiAction.Export, false }, { "bob", ApiAction.Cancel, false },
        // A project admin: everything, cancel included.
        { "carol", ApiAction.Read, true }, { "carol", ApiAction.Cancel, true },
        // Someone whose identity says nlp but whom nlp does not list: not a member.
        { "dave", ApiAction.Read, false }, { "dave", ApiAction.Cancel, false },
        // A cluster admin by credential: everything.
        { "root", ApiAction.Cancel, true }, { "root", ApiAction.Export, true },
        // Anyone identified may read the cluster.
        { "bob", ApiAction.ReadCluster, true },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Decides_by_owner_membership_and_admin_rights(string who, ApiAction action, bool allowed)
    {
        Caller caller = who switch { "alice" => Alice, "carol" => Carol, "bob" => Bob, "dave" => Dave, _ => Root };
        AccessDecision decision = AccessPolicy.Decide(caller, action, AlicesRun, Team(), "exp-1");
        Assert.Equal(allowed, decision.Allowed);
        if (!allowed)
        {
            Assert.StartsWith($"{caller} may not ", decision.Reason);
            Assert.Contains("exp-1", decision.Reason);
            Assert.Contains("alice@nlp", decision.Reason);
        }
    }

    [Fact]
    public void Without_member_lists_anyone_of_the_project_may_read_but_only_owners_and_admins_cancel()
    {
        var open = new AuthSettings();
        Assert.True(AccessPolicy.Decide(Dave, ApiAction.Read, AlicesRun, open).Allowed);
        Assert.False(AccessPolicy.Decide(Dave, ApiAction.Cancel, AlicesRun, open).Allowed);
        Assert.False(AccessPolicy.Decide(Bob, ApiAction.Read, AlicesRun, open).Allowed);
    }

    [Fact]
    public void A_configured_admin_is_an_admin_without_an_admin_credential()
    {
        var eve = new Caller("eve", "elsewhere", false, "token");
        Assert.True(AccessPolicy.Decide(eve, ApiAction.Cancel, AlicesRun, Team()).Allowed);
        Assert.True(AccessPolicy.IsClusterAdmin(eve, Team()));
    }

    [Fact]
    public void Submit_needs_a_known_project_and_membership_where_the_project_lists_members()
    {
        Assert.True(AccessPolicy.Decide(Alice, ApiAction.Submit, null, Team()).Allowed);
        Assert.True(AccessPolicy.Decide(Bob, ApiAction.Submit, null, Team()).Allowed);   // vision lists no members
        AccessDecision dave = AccessPolicy.Decide(Dave, ApiAction.Submit, null, Team());
        Assert.False(dave.Allowed);
        Assert.Contains("dave is not a member of project 'nlp'", dave.Reason);
        AccessDecision stranger = AccessPolicy.Decide(new Caller("x", "robotics", false, "token"), ApiAction.Submit, null, Team());
        Assert.False(stranger.Allowed);
        Assert.Contains("project 'robotics' is not one of this cluster's projects (nlp, vision)", stranger.Reason);
    }

    [Fact]
    public void A_run_stored_before_owners_existed_belongs_to_local()
    {
        Assert.True(AccessPolicy.Decide(Caller.Local, ApiAction.Cancel, null, new AuthSettings()).Allowed);
        Assert.False(AccessPolicy.Decide(Bob, ApiAction.Read, null, new AuthSettings()).Allowed);
    }

    [Fact]
    public void Readable_projects_are_the_callers_own_as_a_member_and_those_it_administers()
    {
        Assert.Equal(["nlp"], AccessPolicy.ReadableProjects(Carol, Team()));
        Assert.Empty(AccessPolicy.ReadableProjects(Dave, Team()));
        Assert.Equal(["vision"], AccessPolicy.ReadableProjects(Bob, Team()));
    }
}
