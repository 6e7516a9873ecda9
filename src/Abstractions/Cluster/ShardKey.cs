namespace FlatLora.Abstractions.Cluster;

/// <summary>A shard grain's key: the silo that owns the device and the device, "{silo}/{device}" (e.g. "node-3/cuda:1").</summary>
[GenerateSerializer]
public readonly record struct ShardKey([property: Id(0)] string Silo, [property: Id(1)] string Device)
{
    /// <summary>Reads "{silo}/{device}"; silo names contain no '/', device names ("cuda:0", "cpu:1") neither.</summary>
    public static ShardKey Parse(string key)
    {
        int slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == key.Length - 1 || key.IndexOf('/', slash + 1) >= 0)
            throw new FormatException($"'{key}' is not a shard key of the form silo/device");
        return new ShardKey(key[..slash], key[(slash + 1)..]);
    }

    public override string ToString() => $"{Silo}/{Device}";
}
