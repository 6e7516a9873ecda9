using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Audit;
using FlatLora.Api.Authorization;
using FlatLora.Api.Errors;
using FlatLora.Api.Identity;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace FlatLora.Api.Services;

/// <summary>
/// The one place a service asks the policy: before any grain call that acts on a run, it checks the caller against the
/// run's owner, audits mutating calls and every refusal, and throws <see cref="AccessDeniedException"/> on a refusal.
/// </summary>
public sealed class ApiGate(IOptionsMonitor<AuthSettings> settings, ApiAudit audit)
{
    public AuthSettings Settings => settings.CurrentValue;

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
