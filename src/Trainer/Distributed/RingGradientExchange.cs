using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;
using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Data-parallel gradient exchange: the LoRA gradients are packed on their device into buckets (about 25 MB by
/// default, like PyTorch DDP), each bucket goes to the host in one copy into a host buffer that lives as long as the
/// exchange, is summed over the pipelined ring in place, and comes back in one copy. Overlapped with backward
/// (<see cref="BeginOverlapped"/>), buckets go from the last layer to the first as backward finishes them. The step's
/// loss sums ride in the last bucket. Only LoRA gradients travel: base weights never do, and Flat-LoRA noise is regenerated on every rank
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
        List<(int First, int Count)> buckets = Buckets(gradients);
        for (int b = 0; b < buckets.Count; b++)
        {
            (int first, int count) = buckets[b];
            ExchangeBucket(step, b, [.. gradients.Skip(first).Take(count)], b == buckets.Count - 1 ? scalars : null, consistencyHash, cancellationToken);
        }
        Finished(buckets.Count, gradients.Sum(g => g.numel()) + scalars.Length, watch.Elapsed, watch.Elapsed);
        LastBucketsDuringBackward = 0;
    }

    /// <summary>
    /// Buckets go out from the last layer to the first as backward finishes them (<see cref="OverlappedStep"/>).
    /// <see cref="LastDuration"/> is then the exchange time backward did not hide: from its end to the last bucket's.
    /// </summary>
    public IOverlappedExchange? BeginOverlapped(long step, IReadOnlyList<TorchSharp.Modules.Parameter> parameters, IReadOnlyList<int> layers,
        ulong consistencyHash, CancellationToken cancellationToken = default)
    {
        var overlapped = new OverlappedStep(parameters, layers, _bucketFloats,
            (b, gradients, scalars, token) => ExchangeBucket(step, b, gradients, scalars, consistencyHash, token), cancellationToken);
        return new FinishTimer(overlapped, (buckets, scalars, exposed) =>
        {
            Finished(buckets, parameters.Sum(p => p.numel()) + scalars, exposed, overlapped.Work);
            LastBucketsDuringBackward = overlapped.StartedDuringBackward;
        });
    }

    private void Finished(int buckets, long values, TimeSpan exposed, TimeSpan work)
    {
        LastBuckets = buckets;
        LastBytesSent = 2L * (WorldSize - 1) * values / WorldSize * _bytesPerValue;
        LastDuration = exposed;
        LastExchangeWork = work;
    }

    /// <summary>Buckets of the last step that went out while its backward was still running.</summary>
    public int LastBucketsDuringBackward { get; private set; }

    /// <summary>Time the last step's buckets took to exchange, whether or not backward hid it.</summary>
    public TimeSpan LastExchangeWork { get; private set; }

    /// <summary>Packs one bucket on its device, sums it over the ring on the host, and writes it back; returns how long that took.</summary>
    private TimeSpan ExchangeBucket(long step, int bucket, IReadOnlyList<Tensor> gradients, double[]? scalars, ulong consistencyHash,
        CancellationToken cancellationToken)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long floats = gradients.Sum(g => g.numel());
        int extra = scalars?.Length ?? 0;
        Memory<float> host = HostBuffer(checked((int)(floats + extra)));
        using (var scope = NewDisposeScope())
            Pack(gradients, floats);
        for (int i = 0; i < extra; i++)
            host.Span[(int)floats + i] = (float)scalars![i];
        _ring.Sum(step, bucket, host, consistencyHash, cancellationToken);
        using (var scope = NewDisposeScope())
            Unpack(gradients, floats);
        for (int i = 0; i < extra; i++)
            scalars![i] = host.Span[(int)floats + i];
        return watch.Elapsed;
    }

    /// <summary>Consecutive gradients, cut where a bucket reaches its size; there is always one (the loss sums ride in it).</summary>
    private List<(int First, int Count)> Buckets(IReadOnlyList<Tensor> gradients)
    {
        var buckets = new List<(int, int)>();
        int first = 0;
        long floats = 0;
        for (int i = 0; i < gradients.Count; i++)
        {
            floats += gradients[i].numel();
            if (floats >= _bucketFloats)
            {
                buckets.Add((first, i - first + 1));
                first = i + 1;
                floats = 0;
            }
        }
        if (first < gradients.Count || buckets.Count == 0)
            buckets.Add((first, gradients.Count - first));
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
    private void Pack(IReadOnlyList<Tensor> gradients, long floats)
    {
        if (gradients.Count == 0)
            return;
        Tensor flat = cat(gradients.Select(g => g.detach().reshape(-1).to(float32)).ToList(), 0);
        _host!.narrow(0, 0, floats).copy_(flat);
    }

    // One copy back to the gradients' device, then each gradient takes its part.
    private void Unpack(IReadOnlyList<Tensor> gradients, long floats)
    {
        if (gradients.Count == 0)
            return;
        using var noGrad = no_grad();
        Tensor summed = _host!.narrow(0, 0, floats).to(gradients[0].device);
        long offset = 0;
        foreach (Tensor gradient in gradients)
        {
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
