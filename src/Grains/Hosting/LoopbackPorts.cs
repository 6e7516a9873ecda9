using System.Net;
using System.Net.Sockets;

namespace FlatLora.Grains.Hosting;

/// <summary>Free loopback ports for an in-process silo (embedded mode, the cluster bench).</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// <paramref name="count"/> distinct free ports. All are held open until the last is picked: a port closed at once
    /// can be picked again, and a silo given the same port for its silo and gateway endpoints fails to start.
    /// </summary>
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (TcpListener listener in listeners)
                listener.Stop();
        }
    }
}
