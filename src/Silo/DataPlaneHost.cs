using System.Net;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Silo;

/// <summary>
/// Runs the gradient data plane's listener for the life of the silo host; a port that cannot be bound stops the host
/// naming it. At start it says how frames are sealed and warns about what weakens the ring.
/// </summary>
internal sealed partial class DataPlaneHost(GradientInbox inbox, IPEndPoint endpoint, FrameSealing sealing, IReadOnlyList<string> warnings,
    ILogger<DataPlaneHost> logger) : IHostedService, IDisposable
{
    private DataPlaneListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = DataPlaneListener.Start(inbox, endpoint, sealing);
        LogListening(logger, _listener.LocalEndpoint, sealing == FrameSealing.Encrypted ? "HMAC handshake, AES-GCM encrypted frames" : "HMAC handshake, AES-GCM authenticated frames");
        foreach (string warning in warnings)
            LogWarning(logger, warning);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _listener?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Gradient data plane listening on {Endpoint} ({Security})")]
    private static partial void LogListening(ILogger logger, IPEndPoint endpoint, string security);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security: {Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);
}
