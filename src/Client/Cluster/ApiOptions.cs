namespace FlatLora.Client.Cluster;

/// <summary>Where and as whom the CLI reaches a cluster: an in-process silo (--local), or the public API of a cluster.</summary>
public sealed record ApiOptions
{
    public bool Local { get; init; }

    /// <summary>host:port of the cluster's API (its Service or load balancer), or several, comma-separated ($FLATLORA_API).</summary>
    public string Api { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_API") is { Length: > 0 } api ? api : "127.0.0.1:7443";

    /// <summary>Folder with ca.crt (to trust the API's certificate) and client.crt/client.key (to be identified by) ($FLATLORA_TLS_DIR); null: plaintext.</summary>
    public string? TlsDirectory { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_TLS_DIR") is { Length: > 0 } dir ? dir : null;

    /// <summary>An OpenID Connect bearer token, for a cluster that identifies callers by tokens ($FLATLORA_TOKEN).</summary>
    public string? Token { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_TOKEN") is { Length: > 0 } token ? token : null;

    /// <summary>CPU slots of the in-process silo.</summary>
    public int LocalCpuSlots { get; init; } = 1;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
}
