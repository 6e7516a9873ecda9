using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlatLora.Silo;

/// <summary>
/// What this silo last learned of the cluster's membership table: readable with this silo in it, unreachable, or
/// lost and rebuilt (degraded for a while, so an operator notices). /health reports it.
/// </summary>
public sealed class MembershipHealth
{
    /// <summary>How long a rebuilt table keeps the silo "degraded".</summary>
    public static readonly TimeSpan DegradedFor = TimeSpan.FromMinutes(15);

    private readonly Lock _gate = new();
    private DateTime? _rebuiltUtc;
    private string _rebuilt = "";
    private string? _unreachable;
    private string _state = "membership table not read yet";

    public void Read(int silos, long version)
    {
        lock (_gate)
        {
            _unreachable = null;
            _state = $"membership table: {silos} silo row(s), version {version}";
        }
    }

    public void Unreachable(string why)
    {
        lock (_gate)
            _unreachable = why;
    }

    public void Rebuilt(string what, DateTime utc)
    {
        lock (_gate)
        {
            _rebuiltUtc = utc;
            _rebuilt = what;
        }
    }

    public HealthCheckResult Assess(DateTime now)
    {
        lock (_gate)
        {
            if (_unreachable is not null)
                return HealthCheckResult.Unhealthy($"membership storage unreachable: {_unreachable}");
            if (_rebuiltUtc is DateTime rebuilt && now - rebuilt < DegradedFor)
                return HealthCheckResult.Degraded($"{_rebuilt} ({(now - rebuilt).TotalMinutes:F0} min ago)");
            return HealthCheckResult.Healthy(_state);
        }
    }
}

/// <summary>/health: membership storage as <see cref="MembershipHealth"/> last saw it (always healthy without Redis clustering).</summary>
public sealed class MembershipHealthCheck(MembershipHealth membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(membership.Assess(DateTime.UtcNow));
}
