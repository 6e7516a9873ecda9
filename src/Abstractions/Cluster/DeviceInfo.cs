namespace FlatLora.Abstractions.Cluster;

[GenerateSerializer]
public enum DeviceState
{
    Free = 0,
    Busy = 1,

    /// <summary>Its silo left the cluster.</summary>
    Down = 2,
}

/// <summary>One device of one silo: "cuda:0", or a CPU slot "cpu:1".</summary>
[GenerateSerializer]
public sealed record DeviceInfo
{
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public required string Device { get; init; }
    [Id(2)] public DeviceState State { get; init; }

    /// <summary>The seed run holding it ("{experiment}/{seed}"), when busy.</summary>
    [Id(3)] public string? RunKey { get; init; }

    /// <summary>The silo's gradient-exchange (gRPC) address, e.g. "http://10.0.0.5:5050"; null for a silo without one.</summary>
    [Id(4)] public string? Endpoint { get; init; }

    /// <summary>When a device was marked down because its run lost it, the time it may be offered again if its silo is alive.</summary>
    [Id(5)] public DateTime? SuspectUntilUtc { get; init; }

    /// <summary>
    /// The number of the grant that made it busy, unique in the inventory: the device's job names it when it ends, so
    /// a late "freed" from an earlier grant never frees a device that was granted again (0: no grant, or unknown).
    /// </summary>
    [Id(6)] public long Grant { get; init; }

    /// <summary>The shard grain key that drives it: "{silo}/{device}".</summary>
    public string ShardKey => Key.ToString();

    public ShardKey Key => new(Silo, Device);
}
