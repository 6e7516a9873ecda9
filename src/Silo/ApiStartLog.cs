using FlatLora.Api.Identity;

namespace FlatLora.Silo;

/// <summary>Says at every start how the API identifies callers, and warns about what weakens it.</summary>
internal sealed partial class ApiStartLog(AuthMode mode, int port, IReadOnlyList<string> warnings, ILogger<ApiStartLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (port != 0)
            LogServing(logger, port, mode);
        foreach (string warning in warnings)
            LogWarning(logger, warning);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Public API (flatlora.v1) on port {Port}, callers identified by {Mode}")]
    private static partial void LogServing(ILogger logger, int port, AuthMode mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security: {Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);
}
