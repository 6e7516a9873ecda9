namespace FlatLora.Client.Cluster;

/// <summary>Where the CLI finds a cluster: an in-process silo (--local), a gateway, or Redis membership.</summary>
public sealed record ConnectionOptions
{
    public bool Local { get; init; }

    /// <summary>host:port of a silo gateway (default 127.0.0.1:30000, or $FLATLORA_GATEWAY).</summary>
    public string Gateway { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_GATEWAY") ?? "127.0.0.1:30000";

    /// <summary>Redis connection string: find gateways through Redis clustering ($FLATLORA_REDIS).</summary>
    public string? Redis { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_REDIS");

    public string ClusterId { get; init; } = "flatlora";
    public string ServiceId { get; init; } = "flatlora";

    /// <summary>CPU slots of the in-process silo.</summary>
    public int LocalCpuSlots { get; init; } = 1;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Folder with ca.crt, client.crt and client.key for a TLS cluster ($FLATLORA_TLS_DIR); null: plaintext.</summary>
    public string? TlsDirectory { get; init; } = Environment.GetEnvironmentVariable("FLATLORA_TLS_DIR");
}
