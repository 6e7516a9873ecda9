using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Audit;
using FlatLora.Api.Authorization;
using FlatLora.Api.Errors;
using FlatLora.Api.Identity;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Spec;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace FlatLora.Api.Services;

/// <summary>
/// The one place a service asks the policy: before any grain call that acts on a run, it checks the caller against the
/// run's owner, audits mutating calls and every refusal, and throws <see cref="AccessDeniedException"/> on a refusal.
/// </summary>
public sealed class ApiGate(IOptionsMonitor<AuthSettings> settings, ISchedulingSettings scheduling, ApiAudit audit)
{
    public AuthSettings Settings => settings.CurrentValue;

    /// <summary>
    /// A submission's claims on the scheduler: the caller's project must be one the cluster schedules (where it lists
    /// them: bad input, exit 2), and its priority within what the project allows (critical: cluster admins only; a
    /// refusal, exit 4).
    /// </summary>
    public void RequireSchedulable(ServerCallContext context, string? priorityName, string target)
    {
        Caller caller = context.Caller();
        SchedulingSettings s = scheduling.Current;
        if (AccessPolicy.IsClusterAdmin(caller, settings.CurrentValue))
            return;   // admins may use any class, and are charged to their project (or the default quota) wherever they submit
        if (s.RefusesUnlisted && !s.Projects.ContainsKey(caller.Project))
            throw new SpecException("project", $"'{caller.Project}' (the project of {caller.User}) is not one of the cluster's projects " +
                                               $"({string.Join(", ", s.Projects.Keys.Order(StringComparer.Ordinal))})");
        if (!PriorityClasses.TryParse(priorityName, out PriorityClass priority))
            return;   // a bad name is the spec validator's to report, with its field
        PriorityClass cap = s.QuotaOf(caller.Project).MaxPriorityClass;
        string? refusal = priority == PriorityClass.Critical
            ? $"{caller.User} may not submit {target} with priority critical (cluster admins only)"
            : priority > cap ? $"{caller.User} may not submit {target} with priority {priority.Name()}: project {caller.Project} allows at most {cap.Name()}" : null;
        if (refusal is null)
            return;
        audit.Mutation(caller, context.Method, target, allowed: false, context.Peer(), refusal);
        throw new AccessDeniedException(refusal);
    }

    public void Require(ServerCallContext context, ApiAction action, RunOwner? owner, string? target, bool mutating = false)
    {
        Caller caller = context.Caller();
        AccessDecision decision = AccessPolicy.Decide(caller, action, owner, settings.CurrentValue, target);
        if (mutating || !decision.Allowed)
            audit.Mutation(caller, context.Method, target, decision.Allowed, context.Peer(), decision.Allowed ? null : decision.Reason);
        if (!decision.Allowed)
            throw new AccessDeniedException(decision.Reason);
    }

    /// <summary>Audits a mutating call that the policy allowed and that has just succeeded, with the id it created.</summary>
    public void Created(ServerCallContext context, string id) => audit.Mutation(context.Caller(), context.Method, id, allowed: true, context.Peer());
}
