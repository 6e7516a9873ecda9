using System.Net;
using FlatLora.Collectives.Control.Protos;
using FlatLora.Collectives.Tcp;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlatLora.Collectives.Control;

/// <summary>
/// Asks a peer silo's control endpoint (its gRPC port, "http(s)://ip:port") where its data plane listens, and checks
/// that both sides agree on TLS and on frame sealing before any gradient connection is made.
/// </summary>
public static class RingRendezvous
{
    /// <param name="sealing">How this rank seals its frames: a peer that takes only encrypted frames refuses weaker ones.</param>
    public static IPEndPoint DataEndpoint(string controlEndpoint, int peerRank, GradientTls? tls, TimeSpan timeout,
        FrameSealing sealing = FrameSealing.Encrypted, CancellationToken cancellationToken = default)
    {
        var uri = new Uri(controlEndpoint);
        if (!IPAddress.TryParse(uri.Host, out IPAddress? address))
            throw new ArgumentException($"gradient endpoint '{controlEndpoint}' of rank {peerRank} does not name an IP address");
        var handler = new SocketsHttpHandler { ConnectTimeout = timeout };
        if (tls is not null)
            handler.SslOptions = tls.ClientOptions();
        using GrpcChannel channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions { HttpHandler = handler });
        RendezvousReply reply;
        try
        {
            reply = new RingControl.RingControlClient(channel).Rendezvous(new RendezvousRequest(),
                deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException e)
        {
            throw new PeerUnavailableException(peerRank, $"rank {peerRank}'s silo at {controlEndpoint} did not say where its data plane is: {e.Status.StatusCode} {e.Status.Detail}", e);
        }
        if (reply.Tls != tls is not null)
            throw new PeerUnavailableException(peerRank, $"rank {peerRank}'s silo at {controlEndpoint} runs " +
                $"{(reply.Tls ? "with" : "without")} TLS and this one {(tls is null ? "without" : "with")}: set FlatLora:Silo:Tls the same on every silo");
        if (reply.Encrypted && sealing != FrameSealing.Encrypted)
            throw new PeerUnavailableException(peerRank, $"rank {peerRank}'s silo at {controlEndpoint} takes only encrypted gradient frames " +
                "and this one sends them authenticated only: set FlatLora:Silo:GradientEncryption the same on every silo");
        return new IPEndPoint(address, reply.DataPort);
    }
}
