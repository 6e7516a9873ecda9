using FlatLora.Abstractions.Cluster;
using FlatLora.Trainer.Distributed;

namespace FlatLora.Grains.Execution;

/// <summary>
/// A rank's place in its run's gradient ring for one attempt: registers the rank's mailbox in this process and
/// connects to the next rank, in-process when it runs on the same silo, over gRPC otherwise.
/// </summary>
internal sealed class RankExchange : IDisposable
{
    private readonly RingGradientExchange? _ring;

    private RankExchange(IGradientExchange exchange, RingGradientExchange? ring)
    {
        Exchange = exchange;
        _ring = ring;
    }

    public IGradientExchange Exchange { get; }

    public static RankExchange Join(ShardJob job, GradientInbox inbox, TimeSpan timeout, GradientTls? tls = null)
    {
        if (job.WorldSize == 1)
            return new RankExchange(SingleProcessExchange.Instance, null);
        if (job.Peers.Count != job.WorldSize || job.PeerEndpoints.Count != job.WorldSize || job.Secret.Length == 0)
            throw new ArgumentException($"shard job for {job.RunKey} rank {job.Rank} lacks its peers, their endpoints or the run secret");
        int next = (job.Rank + 1) % job.WorldSize;
        IRingTransport transport = ShardKey.Parse(job.Peers[next]).Silo == ShardKey.Parse(job.Peers[job.Rank]).Silo
            ? new InProcessRingTransport(inbox, timeout)
            : new GrpcRingTransport(job.PeerEndpoints[next] ?? throw new ArgumentException(
                $"rank {next} of {job.RunKey} runs on silo {ShardKey.Parse(job.Peers[next]).Silo}, which has no gradient endpoint " +
                "(set FlatLora:Silo:GrpcPort on every silo of a data-parallel cluster)"), timeout, tls);
        var ring = new RingGradientExchange(inbox, job.RunKey, job.Attempt, job.Rank, job.WorldSize, job.Secret, transport, timeout);
        return new RankExchange(ring, ring);
    }

    public void Dispose() => _ring?.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
