using System.Net;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Silo;

/// <summary>Runs the gradient data plane's listener for the life of the silo host; a port that cannot be bound stops the host naming it.</summary>
internal sealed partial class DataPlaneHost(GradientInbox inbox, IPEndPoint endpoint, GradientTls? tls, ILogger<DataPlaneHost> logger) : IHostedService, IDisposable
{
    private DataPlaneListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = DataPlaneListener.Start(inbox, endpoint, tls);
        LogListening(logger, _listener.LocalEndpoint, tls is null ? "HMAC handshake" : "TLS + HMAC handshake");
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
}
