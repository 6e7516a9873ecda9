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
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>/health and /metrics, in every environment: Kubernetes probes and Prometheus need them in production.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
