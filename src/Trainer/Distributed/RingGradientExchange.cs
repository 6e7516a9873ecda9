using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Data-parallel gradient exchange: the LoRA gradients are packed on their device into buckets (about 25 MB by
/// default, like PyTorch DDP), each bucket goes to the host in one copy into a host buffer that lives as long as the
/// exchange, is summed over the pipelined ring in place, and comes back in one copy. The step's loss sums ride in the
/// last bucket. Only LoRA gradients travel: base weights never do, and Flat-LoRA noise is regenerated on every rank
/// from the shared seed (the ranks compare a hash of it, passed in as a plain number).
/// </summary>
public sealed class RingGradientExchange : IGradientExchange, IDisposable
{
    public const long DefaultBucketBytes = 25L << 20;

    private readonly RingMailbox _mailbox;
    private readonly IRingTransport _next;
    private readonly RingAllReduce _ring;
    private readonly long _bucketFloats;
    private readonly int _bytesPerValue;
    private Tensor? _host;
    private TensorMemory? _hostMemory;

    /// <param name="wire">bf16 halves the bytes on the wire and is not bit-exact against one rank (see <see cref="WireFormat"/>).</param>
    public RingGradientExchange(GradientInbox inbox, RingEdge edge, int worldSize, IRingTransport next, TimeSpan timeout,
        long bucketBytes = DefaultBucketBytes, WireFormat wire = WireFormat.Fp32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        _next = next;
        _bucketFloats = bucketBytes / sizeof(float);
        Rank = edge.FromRank;
        WorldSize = worldSize;
        _mailbox = inbox.Register(edge.RunKey, edge.Attempt, edge.FromRank, worldSize, edge.Secret);
        _ring = new RingAllReduce(_mailbox, next, timeout, wire: wire);
        _bytesPerValue = BFloat16Wire.BytesPerValue(wire);
    }

    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>Bytes this rank sent in its last exchange and how long the exchange took.</summary>
    public long LastBytesSent { get; private set; }
    public TimeSpan LastDuration { get; private set; }

    /// <summary>Buckets of the last exchange (for tests and diagnostics).</summary>
    public int LastBuckets { get; private set; }

    public void AllReduce(long step, IReadOnlyList<Tensor> gradients, double[] scalars, ulong consistencyHash,
        CancellationToken cancellationToken = default)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        List<(int First, int Count, long Floats)> buckets = Buckets(gradients);
        long sent = 0;
        for (int b = 0; b < buckets.Count; b++)
        {
            (int first, int count, long floats) = buckets[b];
            bool last = b == buckets.Count - 1;
            int length = checked((int)(floats + (last ? scalars.Length : 0)));
            Memory<float> host = HostBuffer(length);
            using (var scope = NewDisposeScope())
                Pack(gradients, first, count, floats);
            if (last)
                for (int i = 0; i < scalars.Length; i++)
                    host.Span[(int)floats + i] = (float)scalars[i];
            _ring.Sum(step, b, host, consistencyHash, cancellationToken);
            using (var scope = NewDisposeScope())
                Unpack(gradients, first, count, floats);
            if (last)
                for (int i = 0; i < scalars.Length; i++)
                    scalars[i] = host.Span[(int)floats + i];
            sent += 2L * (WorldSize - 1) * length / WorldSize * _bytesPerValue;
        }
        LastBuckets = buckets.Count;
        LastBytesSent = sent;
        LastDuration = watch.Elapsed;
    }

    /// <summary>Consecutive gradients, cut where a bucket reaches its size; there is always one (the loss sums ride in it).</summary>
    private List<(int First, int Count, long Floats)> Buckets(IReadOnlyList<Tensor> gradients)
    {
        var buckets = new List<(int, int, long)>();
        int first = 0;
        long floats = 0;
        for (int i = 0; i < gradients.Count; i++)
        {
            floats += gradients[i].numel();
            if (floats >= _bucketFloats)
            {
                buckets.Add((first, i - first + 1, floats));
                first = i + 1;
                floats = 0;
            }
        }
        if (first < gradients.Count || buckets.Count == 0)
            buckets.Add((first, gradients.Count - first, floats));
        return buckets;
    }

    // One host buffer for the exchange's lifetime, grown when a bucket needs more.
    private Memory<float> HostBuffer(int length)
    {
        if (_host is null || _host.numel() < length)
        {
            _host?.Dispose();
            // Outlives the step's dispose scope, which the exchange is called inside.
            _host = empty(Math.Max(length, 1), float32).DetachFromDisposeScope();
            _hostMemory = new TensorMemory(_host);
        }
        return _hostMemory!.Memory[..length];
    }

    // On the gradients' device: one fp32 vector, then one copy to the host.
    private void Pack(IReadOnlyList<Tensor> gradients, int first, int count, long floats)
    {
        if (count == 0)
            return;
        Tensor flat = cat(Enumerable.Range(first, count).Select(i => gradients[i].detach().reshape(-1).to(float32)).ToList(), 0);
        _host!.narrow(0, 0, floats).copy_(flat);
    }

    // One copy back to the gradients' device, then each gradient takes its part.
    private void Unpack(IReadOnlyList<Tensor> gradients, int first, int count, long floats)
    {
        if (count == 0)
            return;
        using var noGrad = no_grad();
        Tensor summed = _host!.narrow(0, 0, floats).to(gradients[first].device);
        long offset = 0;
        for (int i = first; i < first + count; i++)
        {
            Tensor gradient = gradients[i];
            gradient.copy_(summed.narrow(0, offset, gradient.numel()).view_as(gradient));
            offset += gradient.numel();
        }
    }

    public void Dispose()
    {
        _ring.Dispose();
        _mailbox.Dispose();
        _next.Dispose();
        _host?.Dispose();
    }
}
