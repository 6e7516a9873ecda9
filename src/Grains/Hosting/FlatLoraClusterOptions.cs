namespace FlatLora.Grains.Hosting;

/// <summary>A silo's devices and the cluster's timing (section "FlatLora:Cluster" in appsettings / environment).</summary>
public sealed class FlatLoraClusterOptions
{
    /// <summary>Explicit device list ("cuda:0", "cpu:0", ...); empty means discover.</summary>
    public string[] Devices { get; set; } = [];

    /// <summary>
    /// Where submitted specs may write and read (a silo sets it from FlatLora:Silo:OutputRoot and DataRoot); null for the
    /// CLI's in-process silo, whose specs come from its own user.
    /// </summary>
    public Spec.ClusterPaths? Paths { get; set; }

    /// <summary>CPU slots to offer when there is no GPU (or <see cref="Cuda"/> is off).</summary>
    public int CpuSlots { get; set; } = 1;

    /// <summary>auto (use CUDA devices when CUDA initialises), on (require it) or off.</summary>
    public string Cuda { get; set; } = "auto";

    /// <summary>Intra-op threads for CPU training; default: processor count / CPU slots.</summary>
    public int? TorchThreads { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A rank silent this long is presumed dead; its run resumes from its last checkpoint.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MembershipCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a queued run asks the inventory again. The inventory writes its queue at most once a second, so a run
    /// that queued in the second before the inventory moved to another silo rejoins at its place within this time.
    /// </summary>
    public TimeSpan QueueRequestInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Seed runs this silo's experiments start at once (each: activate, persist, queue at the inventory). A submission of
    /// thousands of trials queues at this pace instead of flooding the thread pool that carries every other report.
    /// </summary>
    public int SeedStartsInFlight { get; set; } = 2;

    /// <summary>
    /// How often an experiment asks its seeds that have not reported for this long how they stand, and a sweep its
    /// experiments: a one-way report lost with a dying silo is caught up, and a run whose silo died is woken.
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a grain call may take before it fails (Orleans' ResponseTimeout, set here on purpose). No call of this
    /// system waits for work: the longest legitimate one is a seed run's 10 s status probe of a silent shard.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A device whose rank went silent or could not be reached is kept out of grants this long, unless its silo
    /// restarts; long enough for Orleans membership to declare a dead silo dead.
    /// </summary>
    public TimeSpan LostDeviceQuarantine { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a rank waits for its ring neighbour in one gradient all-reduce (and for a peer to start) before
    /// the attempt fails naming the silent rank, and resumes from its checkpoint. Generous by default: rank 0 evaluates
    /// and checkpoints while the others wait, and a dead peer is caught sooner by heartbeats or a refused connection.
    /// </summary>
    public TimeSpan CollectiveTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// This silo's gradient control address (the gRPC port) as peers on other silos reach it, e.g.
    /// "http://10.0.0.5:5050": a peer asks it where the data plane listens, then sends gradients there over TCP.
    /// Set by the silo host; null means ranks on this silo can only exchange with ranks on the same silo.
    /// </summary>
    public string? GradientEndpoint { get; set; }

    /// <summary>Mutual TLS for the gradient control calls this silo makes (set with FlatLora:Silo:Tls); null: plain HTTP/2.</summary>
    public Collectives.Tcp.GradientTls? GradientTls { get; set; }

    /// <summary>
    /// The cluster key every silo holds (set from FlatLora:Silo:ClusterKey): each attempt's ring keys derive from it on
    /// every silo, so no secret travels. Null: each attempt gets a random secret, carried in the start message to its
    /// ranks (readable on the wire without TLS; the silo warns at start).
    /// </summary>
    public byte[]? ClusterKey { get; set; }

    /// <summary>What this silo warns its operators about, in `flatlora cluster` and at start (set by the host).</summary>
    public IReadOnlyList<string> SecurityWarnings { get; set; } = [];

    /// <summary>How gradient frames are sealed (FlatLora:Silo:GradientEncryption): encrypted, or authenticated only.</summary>
    public Collectives.Tcp.FrameSealing GradientSealing { get; set; } = Collectives.Tcp.FrameSealing.Encrypted;

    /// <summary>
    /// Size of a gradient bucket: LoRA gradients are packed into buckets of about this many bytes, each copied to the
    /// host once and all-reduced on its own. 25 MB, as in PyTorch DDP.
    /// </summary>
    public int GradientBucketMegabytes { get; set; } = 25;
}
