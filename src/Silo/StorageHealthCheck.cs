using FlatLora.Grains.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlatLora.Silo;

/// <summary>/health: unhealthy while grains cannot write their state, degraded for a while after stored state was lost and restored.</summary>
public sealed class StorageHealthCheck(StorageHealth storage) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        (StorageStatus status, string detail) = storage.Assess(DateTime.UtcNow);
        return Task.FromResult(status switch
        {
            StorageStatus.Unhealthy => HealthCheckResult.Unhealthy(detail),
            StorageStatus.Degraded => HealthCheckResult.Degraded(detail),
            _ => HealthCheckResult.Healthy(detail),
        });
    }
}
