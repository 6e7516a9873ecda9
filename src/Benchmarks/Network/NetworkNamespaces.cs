using System.Diagnostics;
using System.Globalization;

namespace FlatLora.Benchmarks.Network;

/// <summary>
/// Hosts made of Linux network namespaces: a bridge in this namespace with the first address of a /24, and per host
/// a namespace joined to it by a veth pair, with its own address. Processes started in a host see only their own
/// interface; traffic between hosts crosses the bridge, where a link can be cut or shaped with `tc`. Needs root (CI
/// runs as root); <see cref="TryCreate"/> says why when namespaces cannot be made. Used by `bench allreduce --netns`
/// and by the multi-host tests (which compile this file in).
/// </summary>
public sealed class NetworkNamespaces : IDisposable
{
    private readonly string _id;
    private readonly List<string> _namespaces = [];

    private NetworkNamespaces(string id, int subnet)
    {
        _id = id;
        Prefix = $"10.{200 + subnet / 250}.{subnet % 250}";
    }

    private string Bridge => $"flb{_id}";

    /// <summary>The address of this namespace on the bridge: where a server for the hosts (Redis) listens.</summary>
    public string BridgeIp => $"{Prefix}.1";

    private string Prefix { get; }

    /// <summary>Host <paramref name="index"/> (0-based): its namespace and address.</summary>
    public (string Namespace, string Ip) Host(int index) => ($"fl{_id}{index}", $"{Prefix}.{index + 2}");

    /// <summary>The bridge-side end of a host's link: set it down to cut the host off, shape it with tc.</summary>
    public string Link(int index) => $"flv{_id}{index}";

    /// <summary>Makes <paramref name="hosts"/> hosts, or returns null with the reason they cannot be made here.</summary>
    public static NetworkNamespaces? TryCreate(int hosts, out string? whyNot)
    {
        whyNot = null;
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            whyNot = $"network namespaces need root on Linux (running as {Environment.UserName} on {Environment.OSVersion})";
            return null;
        }
        var network = new NetworkNamespaces(Guid.NewGuid().ToString("N")[..5], Random.Shared.Next(0, 1000));
        try
        {
            Run("ip", "link", "add", network.Bridge, "type", "bridge");
            Run("ip", "addr", "add", $"{network.BridgeIp}/24", "dev", network.Bridge);
            Run("ip", "link", "set", network.Bridge, "up");
            for (int i = 0; i < hosts; i++)
                network.AddHost(i);
            return network;
        }
        catch (InvalidOperationException e)
        {
            network.Dispose();
            whyNot = $"could not make network namespaces: {e.Message}";
            return null;
        }
    }

    private void AddHost(int index)
    {
        (string name, string ip) = Host(index);
        Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Run("ip", "link", "add", Link(index), "type", "veth", "peer", "name", "eth0", "netns", name);
        Run("ip", "link", "set", Link(index), "master", Bridge, "up");
        Run("ip", "netns", "exec", name, "ip", "addr", "add", $"{ip}/24", "dev", "eth0");
        Run("ip", "netns", "exec", name, "ip", "link", "set", "eth0", "up");
        Run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up");
    }

    /// <summary>Cuts host <paramref name="index"/> off the bridge, as a pulled cable would: its processes live on, unreachable.</summary>
    public void CutLink(int index) => Run("ip", "link", "set", Link(index), "down");

    /// <summary>Limits what host <paramref name="index"/> sends to <paramref name="rate"/> (tc syntax, e.g. "1gbit").</summary>
    public void Shape(int index, string rate) =>
        Run("ip", "netns", "exec", Host(index).Namespace, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "1mb", "latency", "50ms");

    private static void Run(params string[] command)
    {
        using Process process = Process.Start(new ProcessStartInfo(command[0], command[1..])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"`{string.Join(' ', command)}` exited {process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {error.Trim()}");
    }

    public void Dispose()
    {
        foreach (string name in _namespaces)
            TryRun("ip", "netns", "del", name);   // takes the namespace's veth end, and so the pair, with it
        TryRun("ip", "link", "del", Bridge);
    }

    private static void TryRun(params string[] command)
    {
        try
        {
            Run(command);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
