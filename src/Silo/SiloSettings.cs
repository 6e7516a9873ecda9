namespace FlatLora.Silo;

/// <summary>Section "FlatLora:Silo": how this silo joins a cluster and where grains persist.</summary>
public sealed class SiloSettings
{
    public const string Section = "FlatLora:Silo";

    /// <summary>Unique, stable silo name: shard grains are keyed by it. Default: the machine name.</summary>
    public string? Name { get; set; }

    /// <summary>Localhost (one machine) or Redis (many).</summary>
    public string Clustering { get; set; } = "Localhost";

    /// <summary>Memory (lost on restart) or Redis.</summary>
    public string Storage { get; set; } = "Memory";

    /// <summary>StackExchange.Redis connection string, for Redis clustering and/or storage.</summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Where progress events wait for their subscribers: Memory (queues in the silos, lost with a silo) or AzureQueue
    /// (Azure Storage queues, or Azurite: events survive a silo's death and are delivered once it is replaced).
    /// </summary>
    public string Streams { get; set; } = "Memory";

    /// <summary>Azure Storage connection string for AzureQueue streams (a secret: pass it from the environment).</summary>
    public string? StreamsConnectionString { get; set; }

    public int SiloPort { get; set; } = 11111;

    /// <summary>The port silo-to-silo traffic is received on, when SiloPort (advertised) is forwarded to it; default SiloPort.</summary>
    public int? SiloListenPort { get; set; }

    /// <summary>
    /// Port of the gradient ring's gRPC control service (HTTP/2; https with Tls), which data-parallel peers on other
    /// silos ask where this silo's data plane is; 0 turns gradient exchange across silos off (ranks of a run must
    /// then share this silo).
    /// </summary>
    public int GrpcPort { get; set; } = 5050;

    /// <summary>The port the control service listens on, when GrpcPort (advertised) is forwarded to it; default GrpcPort.</summary>
    public int? GrpcListenPort { get; set; }

    /// <summary>
    /// TCP port of the gradient data plane: peers send LoRA gradients here, after an HMAC handshake on the run's
    /// per-attempt secret (inside TLS with Tls). Used when GrpcPort is on.
    /// </summary>
    public int DataPort { get; set; } = 5051;

    /// <summary>The port the data plane listens on, when DataPort (advertised) is forwarded to it; default DataPort.</summary>
    public int? DataListenPort { get; set; }

    /// <summary>
    /// Port of the public API (flatlora.v1: gRPC, and the same as JSON over HTTP), the only door users have into the
    /// cluster: https with TLS (client certificates or bearer tokens, see Auth), plaintext HTTP/2 without. 0: none.
    /// </summary>
    public int ApiPort { get; set; } = 7443;

    /// <summary>The port the API listens on, when ApiPort (advertised) is forwarded to it; default ApiPort.</summary>
    public int? ApiListenPort { get; set; }
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The port the gateway listens on, when what clients dial (GatewayPort, which is advertised) is forwarded by
    /// something in front of the silo (a proxy, a NAT); default GatewayPort.
    /// </summary>
    public int? GatewayListenPort { get; set; }

    /// <summary>The address other silos reach this one at (Redis clustering); default: loopback. It changes only what is advertised.</summary>
    public string? AdvertisedIp { get; set; }

    /// <summary>The address the silo, gateway and gradient ports listen on; default 127.0.0.1 (the Helm chart sets 0.0.0.0).</summary>
    public string ListenIp { get; set; } = "127.0.0.1";

    /// <summary>
    /// Every submitted spec writes under this folder: output_dir is resolved inside it, and a path outside (absolute,
    /// a ../ escape or a symbolic link out) is refused at submit. Default: runs/ under the working directory.
    /// </summary>
    public string OutputRoot { get; set; } = "runs";

    /// <summary>Read-only folder for data.train, data.eval and model.path (besides the output root); default: none.</summary>
    public string? DataRoot { get; set; }

    /// <summary>
    /// The Hugging Face cache that hub ids in model.path resolve in (read-only, like DataRoot): a snapshot, and every
    /// file it links to, must lie inside it. Default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
    /// </summary>
    public string? HubCache { get; set; }

    /// <summary>
    /// A JSON file with the scheduling section ({"FlatLora": {"Cluster": {"Scheduling": ...}}}: projects, quotas,
    /// PreemptAfter), watched for changes: an edit applies without a restart (the Helm chart mounts it from a ConfigMap).
    /// </summary>
    public string? SchedulingFile { get; set; }

    public string ClusterId { get; set; } = "flatlora";
    public string ServiceId { get; set; } = "flatlora";

    /// <summary>
    /// Running in Kubernetes (the Helm chart sets it): Orleans' Kubernetes hosting takes the silo name, address and
    /// cluster ids from the pod (POD_NAME, POD_IP, ORLEANS_SERVICE_ID, ...) and marks silos whose pod is gone as dead.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>
    /// The cluster key (base64, at least 32 bytes; a secret: pass it from the environment or a Kubernetes Secret). Every
    /// silo holds the same one, and each attempt's gradient-ring keys derive from it on every silo, so no ring secret
    /// ever travels. Without it, each attempt's secret rides in the start message to its ranks, which TLS protects
    /// and a plaintext cluster does not: the silo warns.
    /// </summary>
    public string? ClusterKey { get; set; }

    /// <summary>
    /// Encrypt gradient frames (AES-256-GCM) on the data plane; false sends the values in clear, each frame still
    /// authenticated by its tag. Every silo must agree.
    /// </summary>
    public bool GradientEncryption { get; set; } = true;

    /// <summary>How the public API identifies callers and who may do what (section FlatLora:Silo:Auth).</summary>
    public Api.Authorization.AuthSettings Auth { get; set; } = new();

    /// <summary>Mutual TLS on silo-to-silo links and the gateway (section FlatLora:Silo:Tls).</summary>
    public SiloTlsSettings Tls { get; set; } = new();

    /// <summary>The first silo of a localhost cluster (its silo port); others join through it.</summary>
    public int? PrimarySiloPort { get; set; }
}

/// <summary>
/// Section "FlatLora:Silo:Tls": this silo's certificate and key and the cluster CA (PEM, as `flatlora certs init`
/// writes them). With Enabled, silos and clients must present a certificate that chains to the CA.
/// </summary>
public sealed class SiloTlsSettings
{
    public bool Enabled { get; set; }
    public string CertificatePath { get; set; } = "certs/silo.crt";
    public string KeyPath { get; set; } = "certs/silo.key";
    public string CaPath { get; set; } = "certs/ca.crt";
}
