using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// The ports the cluster tests hand their silos and proxies. CI once failed with "Address already in use": a port picked
/// by binding port 0 is in the kernel's ephemeral range, so a second pick or any outgoing connection can take it again
/// before the silo binds it.
/// </summary>
public sealed class TestPortsTests
{
    [Fact]
    public void A_thousand_picks_in_one_process_are_distinct()
    {
        int[] ports = Enumerable.Range(0, 1000).Select(_ => TestPorts.Next()).ToArray();
        Assert.Equal(ports.Length, ports.Distinct().Count());
    }

    [Fact]
    public void No_pick_lies_in_the_range_outgoing_connections_use()
    {
        (int low, int high) = EphemeralRange();
        int[] ports = Enumerable.Range(0, 200).Select(_ => TestPorts.Next()).ToArray();
        Assert.DoesNotContain(ports, p => p >= low && p <= high);
    }

    private static (int Low, int High) EphemeralRange()
    {
        string[] parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
