using System.Net;
using System.Net.Sockets;
using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Security;
using FlatLora.Grains;
using FlatLora.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;

namespace FlatLora.Client.Cluster;

/// <summary>A connection to a FlatLora cluster, remote (an Orleans client) or local (an in-process silo).</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host, bool local)
    {
        _host = host;
        IsLocal = local;
        Grains = host.Services.GetRequiredService<IGrainFactory>();
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    public IGrainFactory Grains { get; }

    /// <summary>The cluster client (stream subscriptions need it), remote or of the in-process silo.</summary>
    public IClusterClient Client { get; }
    public bool IsLocal { get; }

    public static async Task<ClusterConnection> ConnectAsync(ConnectionOptions options, CancellationToken cancellationToken)
    {
        // Certificates are read (and checked against their CA) before anything is dialled: a bad file is bad input.
        ClusterTls? tls;
        try
        {
            tls = !options.Local && options.TlsDirectory is string folder
                ? ClusterTls.FromFolder(folder, ClusterCertificates.ClientName, "--tls-dir")
                : null;
        }
        catch (CertificateRejectedException e)
        {
            // The cluster would refuse it: the same answer (exit 3) as a refused handshake, said without dialling.
            throw new ClusterUnavailableException($"could not reach the cluster: TLS: {e.Message}", e);
        }
        using var clusterIdProbe = new ClusterIdProbe();
        IHost host = options.Local ? BuildLocalSilo(options) : BuildClient(options, tls, clusterIdProbe);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            await host.StartAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            bool tlsGateway = !options.Local && !IsTlsFailure(e) && await TlsProbe.ClusterSpeaksTlsAsync(host, options.Redis).ConfigureAwait(false);
            host.Dispose();
            string where = options.Local ? "the in-process silo"
                : options.Redis is not null ? "a FlatLora cluster through Redis" : $"a FlatLora gateway at {options.Gateway}";
            string reason = e.GetBaseException().Message;
            if (IsTlsFailure(e) || tlsGateway)
                throw new ClusterUnavailableException(tls is null
                    ? $"could not reach {where}: its TLS handshake failed; the cluster needs a client certificate (--tls-dir DIR or $FLATLORA_TLS_DIR)"
                    : $"could not reach {where}: the TLS handshake failed; the gateway refused this client certificate or its CA ({reason})", e);
            if (!options.Local && await clusterIdProbe.DescribeAsync(options, tls).ConfigureAwait(false) is string wrongCluster)
                throw new ClusterUnavailableException($"could not reach {where}: {wrongCluster}", e);
            throw new ClusterUnavailableException(
                $"could not reach {where} ({reason}). Start silos with flatlora-silo, pass --gateway/--redis, or use --local.", e);
        }
        var connection = new ClusterConnection(host, options.Local);
        if (options.Local)
            await connection.WaitForDevicesAsync(options.LocalCpuSlots, cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private async Task WaitForDevicesAsync(int count, CancellationToken cancellationToken)
    {
        var inventory = Grains.GetGrain<FlatLora.Abstractions.Cluster.IClusterInventoryGrain>(0);
        for (int i = 0; i < 200; i++)
        {
            if ((await inventory.GetSnapshotAsync().ConfigureAwait(false)).Devices.Count >= count)
                return;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        throw new ClusterUnavailableException("the in-process silo did not register its devices in 10 s");
    }

    // A refused handshake surfaces as an authentication or I/O error somewhere in the chain, or as a closed connection.
    private static bool IsTlsFailure(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is System.Security.Authentication.AuthenticationException || x.Message.Contains("SSL", StringComparison.Ordinal) ||
                x.Message.Contains("TLS", StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    private static IHost BuildClient(ConnectionOptions options, ClusterTls? tls, ClusterIdProbe clusterIdProbe)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(clusterIdProbe);   // hears a gateway of another cluster (Orleans only logs it)
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            // Set on purpose, as on the silos: no call this CLI makes waits for work to be done.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
            if (options.Redis is not null)
                client.UseRedisClustering(o => o.ConfigurationOptions = RedisConnections.Options(options.Redis, tls));
            else
                client.UseStaticClustering(ParseGateway(options.Gateway));
            client.Services.AddSerializer(s => s.AddFlatLoraSerialization());
            client.AddMemoryStreams(ProgressStreams.Provider);   // `watch` subscribes to progress streams
            if (tls is not null)
                client.UseTls(tls.Configure);
        });
        return builder.Build();
    }

    private static IHost BuildLocalSilo(ConnectionOptions options)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error).AddFilter("Polly", LogLevel.Error);
        builder.UseOrleans(silo =>
        {
            silo.Configure<SiloOptions>(o => o.SiloName = "local");
            // Free loopback ports, so the in-process silo never collides with a real silo on this machine.
            int[] ports = LoopbackPorts.Take(2);
            silo.UseLocalhostClustering(ports[0], ports[1], serviceId: options.ServiceId, clusterId: options.ClusterId);
            silo.AddMemoryGrainStorage(StorageNames.Default);
            silo.AddFlatLoraGrains(o => o.CpuSlots = options.LocalCpuSlots);
        });
        return builder.Build();
    }

    private static IPEndPoint ParseGateway(string gateway)
    {
        int colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway.AsSpan(colon + 1), out int port))
            throw new ArgumentException($"--gateway: '{gateway}' is not host:port");
        string host = gateway[..colon];
        IPAddress address = IPAddress.TryParse(host, out IPAddress? ip) ? ip : Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        return new IPEndPoint(address, port);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        }
        finally
        {
            _host.Dispose();
        }
    }
}

/// <summary>No cluster could be reached; the message says where the CLI looked.</summary>
public sealed class ClusterUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
