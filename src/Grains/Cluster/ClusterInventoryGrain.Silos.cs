using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Cluster;

/// <summary>
/// The inventory's side that hears from silos: a silo registering its devices (again, after a restart), offering them
/// back after the inventory's stored state was lost, a device reported lost, and the membership check that marks a
/// gone silo's devices down and brings quarantined ones back.
/// </summary>
public sealed partial class ClusterInventoryGrain
{
    public async Task RegisterSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint)
    {
        // A silo that registers again restarted: whatever its devices were running is gone.
        foreach (DeviceInfo lost in S.Devices.Where(d => d.Silo == silo && d.State == DeviceState.Busy && d.RunKey is not null).ToList())
            await GrainFactory.GetGrain<ISeedRunGrain>(lost.RunKey!).OnDeviceLostAsync(lost, $"silo {silo} restarted");
        S.Devices.RemoveAll(d => d.Silo == silo);
        S.Devices.AddRange(devices.Select(d => new DeviceInfo { Silo = silo, Device = d, State = DeviceState.Free, Endpoint = endpoint }));
        S.Devices.Sort((a, b) => string.CompareOrdinal(a.ShardKey, b.ShardKey));
        LogRegistered(logger, silo, devices.Count);
        await GrantAsync();
    }

    public async Task RestoreSiloAsync(string silo, IReadOnlyList<string> devices, string? endpoint, IReadOnlyList<string?> busyWith)
    {
        bool added = false;
        for (int i = 0; i < devices.Count; i++)
        {
            if (S.Devices.Any(d => d.Silo == silo && d.Device == devices[i]))
                continue;
            string? run = i < busyWith.Count ? busyWith[i] : null;
            S.Devices.Add(new DeviceInfo { Silo = silo, Device = devices[i], State = run is null ? DeviceState.Free : DeviceState.Busy, RunKey = run, Endpoint = endpoint });
            added = true;
        }
        if (!added)
            return;
        S.Devices.Sort((a, b) => string.CompareOrdinal(a.ShardKey, b.ShardKey));
        LogRestored(logger, silo, devices.Count);
        await GrantAsync();
    }

    public async Task ReportDeviceLostAsync(string shardKey, TimeSpan quarantine)
    {
        int index = S.Devices.FindIndex(d => d.ShardKey == shardKey);
        if (index < 0 || S.Devices[index].State == DeviceState.Down)
            return;
        LogDeviceDown(logger, shardKey, S.Devices[index].RunKey);
        S.Devices[index] = S.Devices[index] with { State = DeviceState.Down, RunKey = null, SuspectUntilUtc = DateTime.UtcNow + quarantine };
        PublishMetrics();
        await PersistAsync();
    }

    public async Task<SiloDevices> CheckMembershipAsync(IReadOnlyList<string> activeSilos, SiloHealthReport reporter)
    {
        _health[reporter.Silo] = reporter;
        var active = activeSilos.ToHashSet(StringComparer.Ordinal);
        foreach (string gone in _health.Keys.Where(s => !active.Contains(s)).ToList())
            _health.Remove(gone);
        bool changed = false;
        for (int i = 0; i < S.Devices.Count; i++)
        {
            DeviceInfo device = S.Devices[i];
            // A device quarantined after a lost rank comes back once the quarantine is over and its silo is still alive.
            if (device.State == DeviceState.Down && device.SuspectUntilUtc is DateTime until && until < DateTime.UtcNow && active.Contains(device.Silo))
            {
                S.Devices[i] = device with { State = DeviceState.Free, SuspectUntilUtc = null };
                changed = true;
                continue;
            }
            if (active.Contains(device.Silo) || device.State == DeviceState.Down)
                continue;
            LogDeviceDown(logger, device.ShardKey, device.RunKey);
            if (device.RunKey is not null)
                await GrainFactory.GetGrain<ISeedRunGrain>(device.RunKey).OnDeviceLostAsync(device, $"silo {device.Silo} left the cluster");
            S.Devices[i] = device with { State = DeviceState.Down, RunKey = null };
            changed = true;
        }
        if (changed)
            await GrantAsync();
        var mine = S.Devices.Where(d => d.Silo == reporter.Silo).ToList();
        return new SiloDevices(mine.Count > 0, mine.Where(d => d is { State: DeviceState.Busy, RunKey: not null })
            .ToDictionary(d => d.Device, d => d.RunKey!, StringComparer.Ordinal));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: silo {Silo} registered {Count} device(s)")]
    private static partial void LogRegistered(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: silo {Silo} offered its {Count} device(s) again (the inventory's stored state was lost)")]
    private static partial void LogRestored(ILogger logger, string silo, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: device {Device} is down (was running {RunKey})")]
    private static partial void LogDeviceDown(ILogger logger, string device, string? runKey);
}
