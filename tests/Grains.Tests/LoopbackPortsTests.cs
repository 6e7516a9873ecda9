using FlatLora.Grains.Hosting;

namespace FlatLora.Grains.Tests;

public sealed class LoopbackPortsTests
{
    [Fact]
    public void Ports_taken_together_are_distinct_and_free()
    {
        int[] ports = LoopbackPorts.Take(200);
        Assert.Equal(200, ports.Distinct().Count());
        foreach (int port in ports)
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();   // released again, so a silo can bind it
        }
    }
}
