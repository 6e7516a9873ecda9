using FlatLora.Collectives.Control.Protos;
using Grpc.Core;

namespace FlatLora.Collectives.Control;

/// <summary>Where this process's data plane is, as its peers should dial it.</summary>
/// <param name="AdvertisedPort">The port peers dial (a proxy or NAT may forward it to the listening one).</param>
/// <param name="Tls">The silo runs with cluster TLS.</param>
/// <param name="Sealing">The weakest frame sealing its data plane takes.</param>
public sealed record DataPlaneAddress(int AdvertisedPort, bool Tls, Tcp.FrameSealing Sealing = Tcp.FrameSealing.Encrypted);

/// <summary>The silo side of <see cref="RingControl"/>; the silo maps it into its web host on the gRPC port.</summary>
public sealed class RingControlService(DataPlaneAddress address) : RingControl.RingControlBase
{
    public override Task<RendezvousReply> Rendezvous(RendezvousRequest request, ServerCallContext context) =>
        Task.FromResult(new RendezvousReply
        {
            DataPort = address.AdvertisedPort,
            Tls = address.Tls,
            Encrypted = address.Sealing == Tcp.FrameSealing.Encrypted,
        });
}
