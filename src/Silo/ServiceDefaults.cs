using FlatLora.Grains.Telemetry;
using OpenTelemetry.Metrics;

namespace FlatLora.Silo;

/// <summary>Telemetry and health for every host: OpenTelemetry metrics with a Prometheus endpoint, and /health.</summary>
public static class ServiceDefaults
{
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans")
            .AddMeter(TrainingMeter.Name)
            .AddMeter(ClusterMeter.Name)
            .AddMeter(FlatLora.Api.Audit.ApiAudit.MeterName)
            .AddPrometheusExporter());
        builder.Services.AddSingleton<MembershipHealth>();
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("grain-storage").AddCheck<MembershipHealthCheck>("membership");
        return builder;
    }

    /// <summary>/health and /metrics, in every environment: Kubernetes probes and Prometheus need them in production.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // The body names what is wrong (every degraded or unhealthy check's description), not just the status word.
        app.MapHealthChecks("/health", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsync(HealthBody(report)),
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    // "Healthy", or the status and what is wrong: "Degraded: <description>; <description>".
    private static string HealthBody(Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        string[] problems = [.. report.Entries.Values
            .Where(e => e.Status != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy).Select(e => e.Description ?? "")];
        return problems.Length == 0 ? report.Status.ToString() : $"{report.Status}: {string.Join("; ", problems)}";
    }
}
