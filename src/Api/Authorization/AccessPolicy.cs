using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Identity;

namespace FlatLora.Api.Authorization;

/// <summary>What a caller asks to do: the API checks one of these before any grain call.</summary>
public enum ApiAction
{
    Submit,
    Read,
    Watch,
    Export,
    Cancel,
    ReadCluster,
}

/// <summary>The policy's answer: allowed, or refused with a reason that names the caller and the action.</summary>
public sealed record AccessDecision(bool Allowed, string Reason)
{
    public static readonly AccessDecision Allow = new(true, "allowed");
}

/// <summary>
/// The cluster's one authorization policy, a pure function of the caller, the action, the run's owner and the
/// configured projects:
/// <list type="bullet">
/// <item>a cluster admin may do everything;</item>
/// <item>anyone identified may read the cluster's devices and queue;</item>
/// <item>a user may submit to their own project (a member of it, where the project lists members), and read, watch,
///   export and cancel their own runs;</item>
/// <item>members of a project may read, watch and export its runs; its admins may also cancel them.</item>
/// </list>
/// </summary>
public static class AccessPolicy
{
    public static AccessDecision Decide(Caller caller, ApiAction action, RunOwner? owner, AuthSettings settings, string? target = null)
    {
        if (IsClusterAdmin(caller, settings))
            return AccessDecision.Allow;
        if (action == ApiAction.ReadCluster)
            return AccessDecision.Allow;
        string what = target is null ? Verb(action) : $"{Verb(action)} {target}";
        if (action == ApiAction.Submit)
        {
            if (settings.Projects.Count > 0 && !settings.Projects.ContainsKey(caller.Project))
                return Refuse(caller, what, $"project '{caller.Project}' is not one of this cluster's projects ({string.Join(", ", settings.Projects.Keys.Order(StringComparer.Ordinal))})");
            if (!IsMember(caller, caller.Project, settings))
                return Refuse(caller, what, $"{caller.User} is not a member of project '{caller.Project}'");
            return AccessDecision.Allow;
        }
        RunOwner run = owner ?? RunOwner.Local;
        bool own = run.User == caller.User && run.Project == caller.Project;
        bool projectAdmin = IsProjectAdmin(caller.User, run.Project, settings);
        bool member = caller.Project == run.Project && IsMember(caller, run.Project, settings);
        bool allowed = action switch
        {
            ApiAction.Read or ApiAction.Watch or ApiAction.Export => own || member || projectAdmin,
            ApiAction.Cancel => own || projectAdmin,
            _ => false,
        };
        return allowed ? AccessDecision.Allow : Refuse(caller, what, $"it belongs to {run}; " + action switch
        {
            ApiAction.Cancel => $"only its owner, an admin of project '{run.Project}' or a cluster admin may cancel it",
            _ => $"only its owner, members of project '{run.Project}' and admins may {Verb(action)} it",
        });
    }

    /// <summary>Whether the caller is a cluster admin, by credential or by configuration.</summary>
    public static bool IsClusterAdmin(Caller caller, AuthSettings settings) => caller.Admin || settings.Admins.Contains(caller.User, StringComparer.Ordinal);

    public static bool IsProjectAdmin(string user, string project, AuthSettings settings) =>
        settings.Projects.TryGetValue(project, out ProjectSettings? p) && p.Admins.Contains(user, StringComparer.Ordinal);

    /// <summary>The projects whose runs the caller may read besides its own: its project (as a member) and those it administers.</summary>
    public static IReadOnlyList<string> ReadableProjects(Caller caller, AuthSettings settings)
    {
        var projects = settings.Projects.Where(p => p.Value.Admins.Contains(caller.User, StringComparer.Ordinal)).Select(p => p.Key).ToList();
        if (IsMember(caller, caller.Project, settings) && !projects.Contains(caller.Project))
            projects.Add(caller.Project);
        return projects;
    }

    private static bool IsMember(Caller caller, string project, AuthSettings settings) =>
        !settings.Projects.TryGetValue(project, out ProjectSettings? p) || p.Members.Length == 0
        || p.Members.Contains(caller.User, StringComparer.Ordinal) || p.Admins.Contains(caller.User, StringComparer.Ordinal);

    private static AccessDecision Refuse(Caller caller, string what, string why) => new(false, $"{caller} may not {what}: {why}");

    private static string Verb(ApiAction action) => action switch
    {
        ApiAction.Submit => "submit",
        ApiAction.Read => "read",
        ApiAction.Watch => "watch",
        ApiAction.Export => "export",
        ApiAction.Cancel => "cancel",
        _ => "read the cluster",
    };
}
