using System.Net;
using System.Net.Sockets;

namespace FlatLora.Tests.Shared;

/// <summary>A loopback TCP proxy that keeps every byte it forwards, both ways, so a test can look for plaintext on the wire.</summary>
internal sealed class RecordingTcpProxy : IDisposable
{
    private readonly TcpListener _listener;
    private readonly MemoryStream _bytes = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly int _target;

    /// <param name="port">The port to listen on (0: any free one).</param>
    public RecordingTcpProxy(int targetPort, int port = 0)
    {
        _target = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Everything forwarded so far, in both directions.</summary>
    public byte[] Recorded()
    {
        lock (_bytes)
            return _bytes.ToArray();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                await Task.WhenAny(CopyAsync(client.GetStream(), server.GetStream()), CopyAsync(server.GetStream(), client.GetStream()));
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // A closed side ends the relay.
            }
        }
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            lock (_bytes)
                _bytes.Write(buffer, 0, read);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
