using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;

namespace FlatLora.Grains.Tests;

/// <summary>Polling helpers with deadlines: a test fails with what it was waiting for instead of hanging.</summary>
internal static class ClusterWaits
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        T value = await probe();
        while (!done(value))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}; last seen: {value}");
            await Task.Delay(50);
            value = await probe();
        }
        return value;
    }

    public static Task<ClusterSnapshot> DevicesAsync(IGrainFactory grains, int count) => UntilAsync(
        () => grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(),
        s => s.Devices.Count(d => d.State != DeviceState.Down) >= count, $"{count} registered devices");

    public static Task<ExperimentStatus> ExperimentAsync(IGrainFactory grains, string id, Func<ExperimentStatus, bool> done, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => grains.GetGrain<IExperimentGrain>(id).GetStatusAsync(), done, $"experiment {id} {what}", timeout);

    public static Task<ExperimentStatus> FinalAsync(IGrainFactory grains, string id) =>
        ExperimentAsync(grains, id, s => s.State.IsFinal(), "to end");

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
