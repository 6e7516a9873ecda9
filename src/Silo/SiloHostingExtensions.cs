using System.Net;
using FlatLora.Abstractions.Experiments;
using FlatLora.Api.Authorization;
using FlatLora.Api.Hosting;
using FlatLora.Api.Identity;
using FlatLora.Abstractions.Security;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains;
using FlatLora.Grains.Hosting;
using FlatLora.Collectives;
using FlatLora.Collectives.Control;
using FlatLora.Collectives.Tcp;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace FlatLora.Silo;

/// <summary>Configures Orleans for this host from <see cref="SiloSettings"/> and <see cref="FlatLoraClusterOptions"/>.</summary>
public static class SiloHostingExtensions
{
    public static IHostApplicationBuilder AddFlatLoraSilo(this IHostApplicationBuilder builder)
    {
        SiloSettings settings = builder.Configuration.GetSection(SiloSettings.Section).Get<SiloSettings>() ?? new SiloSettings();
        Validate(settings);
        AddScheduling(builder, settings);
        // Loaded (and checked to chain to the CA) before Orleans starts: a bad file stops the silo naming it.
        ClusterTls? tls = SiloTls(settings);
        builder.UseOrleans(silo =>
        {
            if (tls is not null)
                silo.UseTls(tls.Configure);
            silo.Configure<SiloOptions>(o => o.SiloName = settings.Name ?? Environment.MachineName);
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.ClusterId;
                o.ServiceId = settings.ServiceId;
            });
            if (settings.Clustering.Equals("Redis", StringComparison.OrdinalIgnoreCase))
            {
                silo.UseRedisClustering(o => o.ConfigurationOptions = RedisConnections.Options(settings.Redis!, tls));
                // Orleans never recovers a membership table that Redis lost; this silo writes it back.
                builder.Services.AddHostedService(sp => new RedisMembershipGuard(settings, tls, sp.GetRequiredService<ILocalSiloDetails>(),
                    sp.GetRequiredService<IClusterMembershipService>(), sp.GetRequiredService<IOptions<ClusterOptions>>(),
                    sp.GetRequiredService<IOptions<FlatLoraClusterOptions>>(), sp.GetRequiredService<MembershipHealth>(),
                    sp.GetRequiredService<ILogger<RedisMembershipGuard>>()));
                IPAddress advertised = settings.AdvertisedIp is null ? IPAddress.Loopback : IPAddress.Parse(settings.AdvertisedIp);
                silo.ConfigureEndpoints(advertised, settings.SiloPort, settings.GatewayPort);
                // Advertising an address says nothing about where to listen: that is ListenIp, loopback by default.
                silo.Configure<EndpointOptions>(o =>
                {
                    IPAddress listen = IPAddress.Parse(settings.ListenIp);
                    o.SiloListeningEndpoint = new IPEndPoint(listen, settings.SiloListenPort ?? settings.SiloPort);
                    o.GatewayListeningEndpoint = new IPEndPoint(listen, settings.GatewayListenPort ?? settings.GatewayPort);
                });
            }
            else
            {
                IPEndPoint? primary = settings.PrimarySiloPort is int port ? new IPEndPoint(IPAddress.Loopback, port) : null;
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, primary, settings.ServiceId, settings.ClusterId);
            }
            if (settings.Kubernetes)
                silo.UseKubernetesHosting();   // after the endpoints above: the pod's name and IP win
            foreach (string storage in new[] { StorageNames.Default, ProgressStreams.PubSubStorage })
            {
                if (settings.Storage.Equals("Redis", StringComparison.OrdinalIgnoreCase))
                    silo.AddRedisGrainStorage(storage, o => o.ConfigurationOptions = RedisConnections.Options(settings.Redis!, tls));
                else
                    silo.AddMemoryGrainStorage(storage);
            }
            if (settings.Streams == "AzureQueue")
                silo.AddProgressQueues(settings.StreamsConnectionString!, settings.ClusterId);
            silo.AddFlatLoraGrains(o =>
            {
                builder.Configuration.GetSection("FlatLora:Cluster").Bind(o);
                o.GradientEndpoint = GradientEndpoint(settings);
                o.GradientTls = tls is null ? null : GradientTlsOf(tls);
                o.ClusterKey = ClusterKeyOf(settings);
                o.GradientSealing = SealingOf(settings);
                o.SecurityWarnings = SecurityWarnings(settings);
                o.Paths = new Spec.ClusterPaths(Path.GetFullPath(settings.OutputRoot), settings.DataRoot is null ? null : Path.GetFullPath(settings.DataRoot),
                    Path.GetFullPath(settings.HubCache ?? Spec.HubCache.Root()));
            });
        });
        return builder;
    }

    /// <summary>
    /// The gradient ring: its gRPC control service on its own HTTP/2-only port, next to the HTTP endpoints of "Urls"
    /// (/health, /metrics; both are bound as addresses, so Kestrel applies per-port protocols without overriding
    /// "Urls"), and its TCP data plane on DataPort, started with the host.
    /// </summary>
    public static WebApplicationBuilder AddGradientExchange(this WebApplicationBuilder builder)
    {
        SiloSettings settings = builder.Configuration.GetSection(SiloSettings.Section).Get<SiloSettings>() ?? new SiloSettings();
        if (settings.GrpcPort == 0)
            return builder;
        builder.Services.AddGrpc();
        // With TLS the control port is https (the only https endpoint), and the data plane runs TLS under the handshake.
        GradientTls? tls = SiloTls(settings) is { } files ? GradientTlsOf(files) : null;
        builder.Services.AddSingleton(new DataPlaneAddress(settings.DataPort, tls is not null, SealingOf(settings)));
        builder.Services.AddHostedService(sp => new DataPlaneHost(sp.GetRequiredService<GradientInbox>(),
            new IPEndPoint(IPAddress.Parse(settings.ListenIp), settings.DataListenPort ?? settings.DataPort), SealingOf(settings),
            SecurityWarnings(settings), sp.GetRequiredService<ILogger<DataPlaneHost>>()));
        return builder;
    }

    // Orleans and the gradient service are configured from the same files: read and chain-checked once per process.
    private static ClusterTls? _loadedTls;

    private static ClusterTls? SiloTls(SiloSettings settings) => !settings.Tls.Enabled ? null
        : _loadedTls ??= ClusterTls.Load(settings.Tls.CertificatePath, settings.Tls.KeyPath, settings.Tls.CaPath, $"{SiloSettings.Section}:Tls");

    private static GradientTls GradientTlsOf(ClusterTls tls) => new(tls.Certificate, peer => ClusterTls.ChainsTo(peer, tls.Authority));

    private static byte[]? ClusterKeyOf(SiloSettings settings) =>
        string.IsNullOrWhiteSpace(settings.ClusterKey) ? null : RingKeys.ParseClusterKey(settings.ClusterKey, $"{SiloSettings.Section}:ClusterKey");

    private static FrameSealing SealingOf(SiloSettings settings) => settings.GradientEncryption ? FrameSealing.Encrypted : FrameSealing.Authenticated;

    /// <summary>What weakens this silo's cluster, in words for its operators (logged at start, shown by `flatlora cluster`).</summary>
    internal static IReadOnlyList<string> SecurityWarnings(SiloSettings settings)
    {
        var warnings = new List<string>();
        if (string.IsNullOrWhiteSpace(settings.ClusterKey) && !settings.Tls.Enabled)
            warnings.Add($"no cluster key and no TLS: each data-parallel attempt's ring secret travels in clear in its start message, so a sniffer " +
                         $"on the silo network can take a ring edge; set {SiloSettings.Section}:ClusterKey on every silo (the Helm chart generates one)");
        if (!settings.GradientEncryption)
            warnings.Add($"gradient frames are authenticated but not encrypted ({SiloSettings.Section}:GradientEncryption=false): LoRA gradients cross the network in clear");
        return warnings;
    }

    public static WebApplication MapGradientExchange(this WebApplication app)
    {
        SiloSettings settings = app.Configuration.GetSection(SiloSettings.Section).Get<SiloSettings>() ?? new SiloSettings();
        if (settings.GrpcPort != 0)
            app.MapGrpcService<RingControlService>();
        return app;
    }

    /// <summary>
    /// The public API on its own port (<see cref="SiloSettings.ApiPort"/>), and every HTTP port of the silo
    /// (<see cref="SiloEndpoints"/>). Callers are identified as Auth says; a weakened API warns at every start.
    /// </summary>
    public static WebApplicationBuilder AddPublicApi(this WebApplicationBuilder builder)
    {
        SiloSettings settings = builder.Configuration.GetSection(SiloSettings.Section).Get<SiloSettings>() ?? new SiloSettings();
        ClusterTls? tls = SiloTls(settings);
        AuthSettings auth = builder.Configuration.GetSection(AuthSettings.Section).Get<AuthSettings>() ?? new AuthSettings();
        AuthMode mode = ApiHosting.ResolveMode(auth, tls is not null);
        IReadOnlyList<string> warnings = ApiHosting.Warnings(mode, tls is not null);
        builder.Services.AddFlatLoraApi(builder.Configuration, mode);
        // Every silo reports them with its health, so `flatlora cluster` shows them.
        builder.Services.PostConfigure<FlatLoraClusterOptions>(o => o.SecurityWarnings = [.. o.SecurityWarnings, .. warnings]);
        builder.Services.AddHostedService(sp => new ApiStartLog(mode, settings.ApiPort, warnings, sp.GetRequiredService<ILogger<ApiStartLog>>()));
        ApiTls? apiTls = tls is null ? null
            : new ApiTls(tls.Certificate, certificate => ClusterTls.ChainsTo(certificate, tls.Authority), RequireClientCertificate: mode == AuthMode.Certificate);
        return builder.AddSiloEndpoints(settings, tls, apiTls);
    }

    private static string? GradientEndpoint(SiloSettings settings) =>
        settings.GrpcPort == 0 ? null : $"{Scheme(settings)}://{settings.AdvertisedIp ?? "127.0.0.1"}:{settings.GrpcPort}";

    private static string Scheme(SiloSettings settings) => settings.Tls.Enabled ? "https" : "http";

    /// <summary>
    /// Projects and quotas: from the configuration, and from the watched scheduling file when one is named. Checked here,
    /// so a silo never starts with a quota it cannot honour; later edits are checked as they land (SchedulingConfig).
    /// </summary>
    private static void AddScheduling(IHostApplicationBuilder builder, SiloSettings settings)
    {
        IConfigurationSection section = builder.Configuration.GetSection(SchedulingSettings.Section);
        SchedulingSettings scheduling = new();
        section.Bind(scheduling);
        if (settings.SchedulingFile is { Length: > 0 } path)
        {
            var file = new SchedulingFile(path);
            if (!File.Exists(file.Path))
                throw new ArgumentException($"{SiloSettings.Section}:SchedulingFile: {file.Path} not found");
            scheduling = file.Load(builder.Configuration);   // a file that does not parse stops the silo naming it
            builder.Services.AddSingleton(file);
        }
        IReadOnlyList<string> problems = SchedulingSettingsCheck.Problems(scheduling);
        if (problems.Count > 0)
            throw new ArgumentException(string.Join("; ", problems));
        builder.Services.Configure<SchedulingSettings>(section);
    }

    private static void Validate(SiloSettings settings)
    {
        if (settings.Clustering is not ("Localhost" or "Redis"))
            throw new ArgumentException($"{SiloSettings.Section}:Clustering must be Localhost or Redis (got '{settings.Clustering}')");
        if (settings.Storage is not ("Memory" or "Redis"))
            throw new ArgumentException($"{SiloSettings.Section}:Storage must be Memory or Redis (got '{settings.Storage}')");
        if ((settings.Clustering == "Redis" || settings.Storage == "Redis") && string.IsNullOrWhiteSpace(settings.Redis))
            throw new ArgumentException($"{SiloSettings.Section}:Redis (a connection string) is needed for Redis clustering or storage");
        if (settings.Streams is not ("Memory" or "AzureQueue"))
            throw new ArgumentException($"{SiloSettings.Section}:Streams must be Memory or AzureQueue (got '{settings.Streams}')");
        if (settings.Streams == "AzureQueue" && string.IsNullOrWhiteSpace(settings.StreamsConnectionString))
            throw new ArgumentException($"{SiloSettings.Section}:StreamsConnectionString (an Azure Storage connection string) is needed for AzureQueue streams");
        if (settings.GrpcPort is < 0 or > 65535)
            throw new ArgumentException($"{SiloSettings.Section}:GrpcPort must be a port number, or 0 for none (got {settings.GrpcPort})");
        if (settings.GrpcPort != 0 && settings.DataPort is < 1 or > 65535)
            throw new ArgumentException($"{SiloSettings.Section}:DataPort must be a port number (got {settings.DataPort})");
        if (settings.AdvertisedIp is not null && !IPAddress.TryParse(settings.AdvertisedIp, out _))
            throw new ArgumentException($"{SiloSettings.Section}:AdvertisedIp '{settings.AdvertisedIp}' is not an IP address");
        if (!IPAddress.TryParse(settings.ListenIp, out _))
            throw new ArgumentException($"{SiloSettings.Section}:ListenIp '{settings.ListenIp}' is not an IP address");
        if (string.IsNullOrWhiteSpace(settings.OutputRoot))
            throw new ArgumentException($"{SiloSettings.Section}:OutputRoot must name a folder");
        ClusterKeyOf(settings);   // a malformed key stops the silo naming the setting
        if (settings.Kubernetes)
        {
            // Orleans' Kubernetes hosting reads these; without them it fails later with a less helpful message.
            string[] missing = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID", "KUBERNETES_SERVICE_HOST"];
            missing = missing.Where(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))).ToArray();
            if (missing.Length > 0)
                throw new ArgumentException($"{SiloSettings.Section}:Kubernetes is on but the pod does not set {string.Join(", ", missing)} " +
                    "(the Helm chart sets the first five from the downward API; Kubernetes sets KUBERNETES_SERVICE_HOST in every pod)");
        }
    }
}
