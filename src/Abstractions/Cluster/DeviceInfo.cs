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

    /// <summary>The shard grain key that drives it: "{silo}/{device}".</summary>
    public string ShardKey => $"{Silo}/{Device}";
}
