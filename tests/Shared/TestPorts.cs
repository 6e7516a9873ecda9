using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FlatLora.Tests.Shared;

/// <summary>
/// Loopback ports for the servers and silos a test starts. Binding port 0 and closing it again is not enough: that port
/// lies in the kernel's ephemeral range, so the next pick, or any outgoing connection, can take it before the silo binds
/// it ("Address already in use" in CI). These come from below that range, where the kernel never hands out a port on
/// its own, each at most once per process, starting at an offset drawn from the process id so that test assemblies
/// running side by side walk different stretches; each is checked free before it is handed out. They start above
/// 30000: Orleans' TestCluster (the grain tests, which run beside these) takes its ports from 12000-30000.
/// </summary>
public static class TestPorts
{
    private const int Lowest = 30_000;
    private static readonly int s_span = EphemeralLow() - Lowest;
    private static readonly int s_start = Environment.ProcessId * 7_919 % Math.Max(1, s_span);
    private static int s_taken = -1;

    public static int Next()
    {
        if (s_span < 1_000)
            throw new InvalidOperationException($"/proc/sys/net/ipv4/ip_local_port_range starts at {Lowest + s_span}: too few ports below it for the tests");
        for (int tries = 0; tries < s_span; tries++)
        {
            int port = Lowest + (s_start + Interlocked.Increment(ref s_taken)) % s_span;
            if (IsFree(port))
                return port;
        }
        throw new InvalidOperationException($"no free loopback port left in {Lowest}-{Lowest + s_span - 1}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralLow()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        if (!File.Exists(range))
            return 32_768;   // Linux's default
        string first = File.ReadAllText(range).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0];
        return int.Parse(first, CultureInfo.InvariantCulture);
    }
}
