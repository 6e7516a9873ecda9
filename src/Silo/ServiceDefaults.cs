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
            .AddPrometheusExporter());
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("grain-storage");
        return builder;
    }

    /// <summary>/health and /metrics, in every environment: Kubernetes probes and Prometheus need them in production.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // The body names what is wrong (a degraded or unhealthy check's description), not just the status word.
        app.MapHealthChecks("/health", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsync(report.Status + (report.Entries.Values
                .Where(e => e.Status != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy)
                .Select(e => $": {e.Description}").FirstOrDefault() ?? "")),
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
