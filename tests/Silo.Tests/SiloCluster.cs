using System.Globalization;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>Silo processes joined through a real Redis (clustering and grain storage), stopped before Redis.</summary>
internal sealed class SiloCluster : IDisposable
{
    private readonly List<(string Name, ChildProcess Process, int HttpPort, int SiloPort, int GatewayPort, int GrpcPort, int DataPort, int ApiPort, string Ip)> _silos = [];
    private readonly List<ChildProcess> _restarted = [];
    // Each silo's command line, so a killed one comes back exactly as it was (TLS, proxies, settings).
    private readonly Dictionary<string, (string[] Args, string? Namespace, IReadOnlyDictionary<string, string>? Environment)> _launches = [];
    private readonly Dictionary<string, (RecordingTcpProxy Silo, RecordingTcpProxy Gateway, RecordingTcpProxy Control, RecordingTcpProxy Data, RecordingTcpProxy Api)> _traffic = [];

    /// <summary>What reached a silo started with recordTraffic, per port.</summary>
    public (RecordingTcpProxy Silo, RecordingTcpProxy Gateway, RecordingTcpProxy Control, RecordingTcpProxy Data, RecordingTcpProxy Api) Traffic(string name) => _traffic[name];

    /// <param name="outputRoot">The silos' FlatLora:Silo:OutputRoot; default the temp folder, where the tests write.</param>
    public SiloCluster(RedisServer redis, string clusterId, string? outputRoot = null)
    {
        Redis = redis;
        ClusterId = clusterId;
        OutputRoot = outputRoot ?? Path.GetTempPath();
    }

    public string OutputRoot { get; }

    public RedisServer Redis { get; }
    public string ClusterId { get; }

    /// <summary>The CLI's way in: the public API of every silo still running (the CLI takes the first that answers).</summary>
    public IReadOnlyList<string> CliConnection => ["--api", string.Join(',', _silos.Where(s => !s.Process.HasExited).Select(s => $"{s.Ip}:{s.ApiPort}"))];

    /// <summary>The CLI's way in through one silo's API only.</summary>
    public IReadOnlyList<string> CliConnectionTo(string name) => ["--api", $"{_silos.Single(s => s.Name == name).Ip}:{_silos.Single(s => s.Name == name).ApiPort}"];

    /// <summary>The silo's silo-to-silo port (as advertised).</summary>
    public int SiloPort(string name) => _silos.Single(s => s.Name == name).SiloPort;

    /// <summary>The silo's public API port.</summary>
    public int ApiPort(string name) => _silos.Single(s => s.Name == name).ApiPort;

    public ChildProcess Silo(string name) => _silos.Single(s => s.Name == name).Process;

    /// <summary>The silo's Orleans gateway port.</summary>
    public int GatewayPort(string name) => _silos.Single(s => s.Name == name).GatewayPort;

    /// <summary>The silo's HTTP port (/health, /metrics).</summary>
    public int HttpPort(string name) => _silos.Single(s => s.Name == name).HttpPort;

    /// <param name="tlsDirectory">A `flatlora certs init` folder: the silo runs mutual TLS with its silo.* and ca.crt.</param>
    /// <param name="waitHealthy">Wait for /health (false: return once started, for a silo expected not to join).</param>
    /// <param name="recordTraffic">Put a recording proxy in front of the silo, gateway and gradient (control and data) ports: the silo advertises
    /// the proxies' ports and listens behind them, so every byte other silos and clients send it is seen (<see cref="Traffic"/>).</param>
    /// <param name="settings">More command-line settings for the silo ("--FlatLora:Silo:Streams=AzureQueue", ...).</param>
    /// <param name="host">Run the silo in this network namespace at this address (it listens and advertises there); null: loopback.</param>
    /// <param name="environment">Environment variables for the silo process (HF_HUB_CACHE, ...).</param>
    public async Task StartSiloAsync(string name, int cpuSlots = 1, string heartbeatTimeout = "00:00:10", string? tlsDirectory = null, bool waitHealthy = true,
        bool recordTraffic = false, (string Namespace, string Ip)? host = null, string collectiveTimeout = "00:00:30", IReadOnlyList<string>? settings = null,
        IReadOnlyDictionary<string, string>? environment = null, (int Http, int Silo, int Gateway, int Grpc, int Data, int Api)? ports = null)
    {
        string ip = host?.Ip ?? "127.0.0.1";
        string[] onHost = host is null ? [] : [$"--FlatLora:Silo:ListenIp={ip}", $"--FlatLora:Silo:AdvertisedIp={ip}"];
        (int http, int silo, int gateway, int grpc, int data, int api) = ports ?? (TestPorts.Next(), TestPorts.Next(), TestPorts.Next(), TestPorts.Next(), TestPorts.Next(), TestPorts.Next());
        string[] behindProxies = [];
        if (recordTraffic)
        {
            int siloListen = TestPorts.Next(), gatewayListen = TestPorts.Next(), grpcListen = TestPorts.Next(), dataListen = TestPorts.Next(), apiListen = TestPorts.Next();
            _traffic[name] = (new RecordingTcpProxy(siloListen, silo), new RecordingTcpProxy(gatewayListen, gateway), new RecordingTcpProxy(grpcListen, grpc),
                new RecordingTcpProxy(dataListen, data), new RecordingTcpProxy(apiListen, api));
            behindProxies = [$"--FlatLora:Silo:SiloListenPort={siloListen}", $"--FlatLora:Silo:GatewayListenPort={gatewayListen}", $"--FlatLora:Silo:GrpcListenPort={grpcListen}",
                $"--FlatLora:Silo:DataListenPort={dataListen}", $"--FlatLora:Silo:ApiListenPort={apiListen}"];
        }
        string[] tls = tlsDirectory is null ? [] :
        [
            "--FlatLora:Silo:Tls:Enabled=true",
            $"--FlatLora:Silo:Tls:CertificatePath={Path.Combine(tlsDirectory, "silo.crt")}",
            $"--FlatLora:Silo:Tls:KeyPath={Path.Combine(tlsDirectory, "silo.key")}",
            $"--FlatLora:Silo:Tls:CaPath={Path.Combine(tlsDirectory, "ca.crt")}",
        ];
        string[] args =
        [
            .. tls,
            .. onHost,
            $"--Urls=http://{ip}:{http}",
            $"--FlatLora:Silo:Name={name}",
            "--FlatLora:Silo:Clustering=Redis",
            "--FlatLora:Silo:Storage=Redis",
            $"--FlatLora:Silo:Redis={Redis.ConnectionString}",
            $"--FlatLora:Silo:ClusterId={ClusterId}",
            $"--FlatLora:Silo:ServiceId={ClusterId}",
            $"--FlatLora:Silo:SiloPort={silo}",
            $"--FlatLora:Silo:GatewayPort={gateway}",
            $"--FlatLora:Silo:GrpcPort={grpc}",
            $"--FlatLora:Silo:DataPort={data}",
            $"--FlatLora:Silo:ApiPort={api}",
            $"--FlatLora:Silo:OutputRoot={OutputRoot}",
            .. behindProxies,
            $"--FlatLora:Cluster:CpuSlots={cpuSlots}",
            "--FlatLora:Cluster:TorchThreads=1",
            $"--FlatLora:Cluster:HeartbeatTimeout={heartbeatTimeout}",
            "--FlatLora:Cluster:MembershipCheckInterval=00:00:01",
            "--FlatLora:Cluster:QueueRequestInterval=00:00:02",
            "--FlatLora:Cluster:ReconcileInterval=00:00:03",
            $"--FlatLora:Cluster:CollectiveTimeout={collectiveTimeout}",
            .. settings ?? [],
        ];
        _launches[name] = (args, host?.Namespace, environment);
        ChildProcess process = ChildProcess.Start("Silo", "flatlora-silo.dll", args, host?.Namespace, environment);
        _silos.Add((name, process, http, silo, gateway, grpc, data, api, ip));
        if (waitHealthy)
            await WaitHealthyAsync(name, process, ip, http);
    }

    /// <summary>SIGKILL of a silo (no shutdown, no handover), then the same silo started again with the same command line.</summary>
    public async Task KillAndRestartSiloAsync(string name)
    {
        var old = _silos.Single(s => s.Name == name);
        old.Process.KillHard();
        _silos.Remove(old);
        _restarted.Add(old.Process);
        (string[] args, string? ns, IReadOnlyDictionary<string, string>? environment) = _launches[name];
        ChildProcess process = ChildProcess.Start("Silo", "flatlora-silo.dll", args, ns, environment);
        _silos.Add(old with { Process = process });
        await WaitHealthyAsync(name, process, old.Ip, old.HttpPort);
    }

    private static async Task WaitHealthyAsync(string name, ChildProcess process, string ip, int http)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"silo {name} exited during start:\n{process.Output}");
            try
            {
                if ((await client.GetStringAsync(new Uri($"http://{ip}:{http}/health"))) == "Healthy")
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"silo {name} was not healthy after 60 s:\n{process.Output}");
            await Task.Delay(250);
        }
    }

    /// <summary>Stops a silo gracefully and starts it again under the same name and ports (a pod restarted in place).</summary>
    public async Task RestartSiloAsync(string name, IReadOnlyList<string>? settings = null)
    {
        var old = _silos.Single(s => s.Name == name);
        old.Process.Stop(TimeSpan.FromSeconds(30));
        _silos.Remove(old);
        _restarted.Add(old.Process);
        await StartSiloAsync(name, settings: settings, ports: (old.HttpPort, old.SiloPort, old.GatewayPort, old.GrpcPort, old.DataPort, old.ApiPort));
    }

    /// <summary>Every silo's log, for a failing test to show what the cluster did.</summary>
    public void DumpLogs(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var silo in _silos)
            File.WriteAllText(Path.Combine(directory, silo.Name + ".log"), silo.Process.Output);
    }

    /// <summary>What a silo has logged so far; empty for a silo this cluster never started.</summary>
    public string Logs(string name) => _silos.FirstOrDefault(s => s.Name == name).Process?.Output ?? "";

    public async Task<string> MetricsAsync(string name)
    {
        int port = _silos.Single(s => s.Name == name).HttpPort;
        using var client = new HttpClient();
        return await client.GetStringAsync(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/metrics"));
    }

    /// <summary>Silos first, gracefully: Orleans' Redis clients hang on shutdown if Redis stops first.</summary>
    public void Dispose()
    {
        foreach (var silo in _silos)
            silo.Process.Stop(TimeSpan.FromSeconds(30));
        foreach (var silo in _silos)
            silo.Process.Dispose();
        foreach (ChildProcess process in _restarted)
            process.Dispose();
        foreach (var proxies in _traffic.Values)
        {
            proxies.Silo.Dispose();
            proxies.Gateway.Dispose();
            proxies.Control.Dispose();
            proxies.Data.Dispose();
            proxies.Api.Dispose();
        }
    }
}
