using FlatLora.Abstractions.Cluster;
using FlatLora.Collectives;
using FlatLora.Collectives.Control;
using FlatLora.Collectives.Tcp;
using FlatLora.Grains.Hosting;
using FlatLora.Trainer.Distributed;

namespace FlatLora.Grains.Execution;

/// <summary>
/// A rank's place in its run's gradient ring for one attempt: registers the rank's mailbox in this process and
/// connects to the next rank, in-process when it runs on the same silo; otherwise it asks the next rank's silo
/// (gRPC control port) where its data plane listens and sends gradients there over authenticated TCP.
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

    public static RankExchange Join(ShardJob job, GradientInbox inbox, FlatLoraClusterOptions options, CancellationToken cancellationToken)
    {
        if (job.WorldSize == 1)
            return new RankExchange(SingleProcessExchange.Instance, null);
        if (job.Peers.Count != job.WorldSize || job.PeerEndpoints.Count != job.WorldSize)
            throw new ArgumentException($"shard job for {job.RunKey} rank {job.Rank} lacks its peers or their endpoints");
        // The ring's keys derive from the cluster key that every silo holds; only a cluster without one sends a secret.
        byte[] baseSecret = options.ClusterKey ?? (job.Secret.Length > 0 ? job.Secret : throw new ArgumentException(
            $"rank {job.Rank} of {job.RunKey}: this silo has no cluster key and the run's silo sent no attempt secret; " +
            "set the same FlatLora:Silo:ClusterKey on every silo"));
        int next = (job.Rank + 1) % job.WorldSize;
        var edge = new RingEdge(job.RunKey, job.Attempt, job.Rank, next, baseSecret);
        TimeSpan timeout = options.CollectiveTimeout;
        WireFormat wire = job.Spec.Experiment.GradientWire == "bf16" ? WireFormat.Bf16 : WireFormat.Fp32;
        IRingTransport transport;
        if (ShardKey.Parse(job.Peers[next]).Silo == ShardKey.Parse(job.Peers[job.Rank]).Silo)
        {
            transport = new InProcessRingTransport(inbox, job.RunKey, job.Attempt, job.Rank, next, timeout);
        }
        else
        {
            string control = job.PeerEndpoints[next] ?? throw new ArgumentException(
                $"rank {next} of {job.RunKey} runs on silo {ShardKey.Parse(job.Peers[next]).Silo}, which has no gradient endpoint " +
                "(set FlatLora:Silo:GrpcPort and DataPort on every silo of a data-parallel cluster)");
            var dataPlane = RingRendezvous.DataEndpoint(control, next, options.GradientTls, TimeSpan.FromSeconds(30), options.GradientSealing, cancellationToken);
            transport = new TcpRingTransport(dataPlane, edge, timeout, options.GradientSealing, wire: wire);
        }
        var ring = new RingGradientExchange(inbox, edge, job.WorldSize, transport, timeout, (long)options.GradientBucketMegabytes << 20, wire);
        return new RankExchange(ring, ring);
    }

    public void Dispose() => _ring?.Dispose();
}
