using FlatLora.Abstractions.Cluster;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// Grant numbers on the inventory's devices. A device's job hands its grant's number back when it ends; only a device
/// still holding that grant is freed, so a late report from an earlier grant never frees a device granted again since.
/// </summary>
internal static class GrantNumbers
{
    /// <summary>
    /// The next grant's number: at least the clock's ticks, so numbers stay unique even after the inventory's stored
    /// state (and its counter) was lost.
    /// </summary>
    public static long Next(long last, DateTime utcNow) => Math.Max(last + 1, utcNow.Ticks);

    /// <summary>Frees the device if it is busy under <paramref name="grant"/>; returns whether it did.</summary>
    public static bool Free(List<DeviceInfo> devices, string shardKey, long grant)
    {
        int index = devices.FindIndex(d => d.ShardKey == shardKey);
        if (grant == 0 || index < 0 || devices[index] is not { State: DeviceState.Busy } device || device.Grant != grant)
            return false;
        devices[index] = device with { RunKey = null, State = DeviceState.Free, Grant = 0 };
        return true;
    }
}
