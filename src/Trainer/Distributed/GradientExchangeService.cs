using System.Runtime.InteropServices;
using FlatLora.Trainer.Distributed.Protos;
using Grpc.Core;

namespace FlatLora.Trainer.Distributed;

/// <summary>The receiving end of <see cref="GrpcRingTransport"/>: reassembles a message from its frames into the inbox.</summary>
public sealed class GradientExchangeService(GradientInbox inbox) : GradientExchange.GradientExchangeBase
{
    public override async Task<PushReply> Push(IAsyncStreamReader<GradientFrame> requestStream, ServerCallContext context)
    {
        GradientFrame? header = null;
        float[] values = [];
        int filled = 0;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            GradientFrame frame = requestStream.Current;
            if (header is null)
            {
                header = frame;
                if (frame.TotalFloats < 0)
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "negative message length"));
                var address = Address(frame);
                if (inbox.IsPending(address))
                    throw new RpcException(new Status(StatusCode.NotFound, $"rank {frame.ToRank} of {frame.RunKey} attempt {frame.Attempt} is not registered here (yet)"));
                Authorize(() => inbox.Authenticate(address, frame.Secret.Span));   // before allocating what the header announces
                values = new float[frame.TotalFloats];
            }
            ReadOnlySpan<float> chunk = MemoryMarshal.Cast<byte, float>(frame.Payload.Span);
            if (filled + chunk.Length > values.Length)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"frames carry more than the announced {values.Length} values"));
            chunk.CopyTo(values.AsSpan(filled));
            filled += chunk.Length;
        }
        if (header is null)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "empty message"));
        if (filled != values.Length)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"message truncated: {filled} of {values.Length} values"));
        Authorize(() => inbox.Deliver(new RingMessage(Address(header), header.Fingerprint, values), header.Secret.Span));
        return new PushReply();
    }

    private static void Authorize(Action check)
    {
        try
        {
            check();
        }
        catch (RingRejectedException e)
        {
            throw new RpcException(new Status(e.Unauthenticated ? StatusCode.PermissionDenied : StatusCode.FailedPrecondition, e.Message));
        }
    }

    private static RingAddress Address(GradientFrame f) => new(f.RunKey, f.Attempt, f.FromRank, f.ToRank, f.Step, f.Phase, f.Hop);
}
