using System.Runtime.InteropServices;
using FlatLora.Trainer.Distributed.Protos;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Another process: one client stream per message over HTTP/2, in frames of at most 256 KB so a large bucket never needs
/// one huge protobuf. Retries while the peer's rank is not registered yet; a dead peer surfaces as
/// <see cref="PeerUnavailableException"/> naming its rank and address.
/// </summary>
public sealed class GrpcRingTransport : IRingTransport
{
    private const int FloatsPerFrame = 64 * 1024;   // 256 KB of float32
    private readonly GrpcChannel _channel;
    private readonly GradientExchange.GradientExchangeClient _client;
    private readonly string _endpoint;
    private readonly TimeSpan _waitForPeer;

    /// <param name="tls">Mutual TLS with the peer (an https:// endpoint); null for h2c.</param>
    public GrpcRingTransport(string endpoint, TimeSpan waitForPeer, GradientTls? tls = null)
    {
        _endpoint = endpoint;
        _waitForPeer = waitForPeer;
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, KeepAlivePingDelay = TimeSpan.FromSeconds(10) };
        if (tls is not null)
            handler.SslOptions = tls.ClientOptions();
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            MaxSendMessageSize = 8 << 20,
            HttpHandler = handler,
        });
        _client = new GradientExchange.GradientExchangeClient(_channel);
    }

    public async Task SendAsync(RingMessage message, byte[] secret, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + _waitForPeer;
        while (true)
        {
            try
            {
                await PushAsync(message, secret, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);   // the peer's rank is still starting
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.FailedPrecondition or StatusCode.NotFound)
            {
                throw new RingRejectedException($"rank {message.Address.ToRank} at {_endpoint} refused step {message.Address.Step}: {e.Status.Detail}");
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException e)
            {
                throw new PeerUnavailableException(message.Address.ToRank, $"rank {message.Address.ToRank} at {_endpoint} is unreachable: {e.Status.StatusCode} {e.Status.Detail}", e);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // Below gRPC: the connection or its HTTP/2 (or TLS) handshake failed, e.g. plaintext against a TLS peer.
                throw new PeerUnavailableException(message.Address.ToRank,
                    $"rank {message.Address.ToRank} at {_endpoint} is unreachable: the connection failed ({e.Message}); do both silos agree on TLS?", e);
            }
        }
    }

    private async Task PushAsync(RingMessage message, byte[] secret, CancellationToken cancellationToken)
    {
        using AsyncClientStreamingCall<GradientFrame, PushReply> call = _client.Push(cancellationToken: cancellationToken);
        RingAddress a = message.Address;
        float[] values = message.Values;
        // One copy into bytes; the frames wrap slices of it (protobuf then writes them straight to the stream).
        byte[] bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        for (int offset = 0; offset < values.Length || offset == 0; offset += FloatsPerFrame)
        {
            int count = Math.Min(FloatsPerFrame, values.Length - offset);
            var frame = new GradientFrame
            {
                Payload = UnsafeByteOperations.UnsafeWrap(bytes.AsMemory(offset * sizeof(float), count * sizeof(float))),
            };
            if (offset == 0)
            {
                frame.RunKey = a.RunKey;
                frame.Attempt = a.Attempt;
                frame.Secret = ByteString.CopyFrom(secret);
                frame.FromRank = a.FromRank;
                frame.ToRank = a.ToRank;
                frame.Step = a.Step;
                frame.Phase = a.Phase;
                frame.Hop = a.Hop;
                frame.Fingerprint = message.Fingerprint;
                frame.TotalFloats = values.Length;
            }
            await call.RequestStream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            if (values.Length == 0)
                break;
        }
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        await call.ResponseAsync.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
