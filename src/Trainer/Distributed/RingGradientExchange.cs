using FlatLora.Trainer.Tensors;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Distributed;

/// <summary>
/// Data-parallel gradient exchange: the LoRA gradients (and the step's loss sums) are flattened into one fp32 buffer,
/// summed over the ring, and written back. Only LoRA gradients travel: base weights never do, and Flat-LoRA noise is
/// regenerated on every rank from the shared seed (the ranks compare a hash of it, passed in as a plain number).
/// </summary>
public sealed class RingGradientExchange : IGradientExchange, IAsyncDisposable
{
    private readonly GradientInbox _inbox;
    private readonly RingMailbox _mailbox;
    private readonly IRingTransport _next;
    private readonly RingAllReduce _ring;

    public RingGradientExchange(GradientInbox inbox, string runKey, int attempt, int rank, int worldSize, byte[] secret,
        IRingTransport next, TimeSpan timeout)
    {
        _inbox = inbox;
        _next = next;
        Rank = rank;
        WorldSize = worldSize;
        _mailbox = inbox.Register(runKey, attempt, rank, secret);
        _ring = new RingAllReduce(_mailbox, next, worldSize, timeout);
    }

    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>Bytes this rank sent in its last exchange and how long the exchange took.</summary>
    public long LastBytesSent { get; private set; }
    public TimeSpan LastDuration { get; private set; }

    public void AllReduce(long step, IReadOnlyList<Tensor> gradients, double[] scalars, ulong consistencyHash,
        CancellationToken cancellationToken = default)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long total = gradients.Sum(g => g.numel());
        float[] buffer = new float[total + scalars.Length];
        using (var scope = NewDisposeScope())
        {
            long offset = 0;
            foreach (Tensor gradient in gradients)
            {
                Tensor host = gradient.detach().to(float32).cpu().contiguous();
                HostMemory.Floats(host, 0, (int)host.numel()).CopyTo(buffer.AsSpan((int)offset));
                offset += host.numel();
            }
        }
        for (int i = 0; i < scalars.Length; i++)
            buffer[total + i] = (float)scalars[i];

        _ring.SumAsync(step, buffer, consistencyHash, cancellationToken).GetAwaiter().GetResult();

        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            long offset = 0;
            foreach (Tensor gradient in gradients)
            {
                Tensor summed = tensor(buffer.AsSpan((int)offset, (int)gradient.numel()).ToArray(), gradient.shape, dtype: float32);
                gradient.copy_(summed.to(gradient.device).to(gradient.dtype));
                offset += gradient.numel();
            }
        }
        for (int i = 0; i < scalars.Length; i++)
            scalars[i] = buffer[total + i];
        LastBytesSent = 2L * (WorldSize - 1) * buffer.Length / WorldSize * sizeof(float);
        LastDuration = watch.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        _inbox.Unregister(_mailbox);
        await _next.DisposeAsync().ConfigureAwait(false);
    }
}
