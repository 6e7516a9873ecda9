using System.Diagnostics.Metrics;
using FlatLora.Api.Identity;
using Microsoft.Extensions.Logging;

namespace FlatLora.Api.Audit;

/// <summary>
/// The API's record of what was asked: one structured log line per mutating call (who, what, which id, allowed or
/// refused, from where), and a counter of every request by method and outcome,
/// <c>flatlora_api_requests_total{method,outcome}</c>, labelled with neither user nor id (bounded cardinality).
/// </summary>
public sealed partial class ApiAudit(ILogger<ApiAudit> logger) : IDisposable
{
    public const string MeterName = "FlatLora.Api";
    private readonly Meter _meter = new(MeterName);
    private Counter<long>? _requests;

    private Counter<long> Requests => _requests ??= _meter.CreateCounter<long>("flatlora.api.requests", "{request}", "Public API requests by method and outcome");

    /// <summary>Counts one finished request: ok, invalid, not_found, refused, unauthenticated, unavailable or error.</summary>
    public void Count(string method, string outcome) =>
        Requests.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>The audit line of a mutating call.</summary>
    public void Mutation(Caller caller, string method, string? target, bool allowed, string peer, string? reason = null) =>
        LogMutation(logger, method, caller.User, caller.Project, caller.AuthenticatedBy, target ?? "-", allowed ? "allowed" : "refused", peer, reason ?? "");

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information,
        Message = "audit: {Method} by {User}@{Project} ({AuthenticatedBy}) on {Target}: {Outcome} from {Peer} {Reason}")]
    private static partial void LogMutation(ILogger logger, string method, string user, string project, string authenticatedBy, string target,
        string outcome, string peer, string reason);

    public void Dispose() => _meter.Dispose();
}
