using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Grains.Cluster.Scheduling;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Cluster;

/// <summary>The inventory's grant pass: the scheduler's decision applied, persisted, then sent to the runs.</summary>
public sealed partial class ClusterInventoryGrain
{
    /// <summary>
    /// Decides and applies: grants, then preemptions. The new state is written before any grant or preemption is sent:
    /// a grant whose write failed never reaches a run, so a device is never handed out twice after the inventory comes
    /// back from storage. With nothing granted or preempted and no device changed by the caller (a run joined the
    /// queue), nothing is written: thousands of runs queueing at once must not cost a write each.
    /// </summary>
    private async Task GrantAsync(bool devicesChanged = true)
    {
        DateTime now = DateTime.UtcNow;
        SchedulingDecision decision = SchedulingPolicy.Decide(Input(now), explain: false);
        var grants = new List<(DeviceAsk Ask, List<DeviceInfo> Devices)>();
        foreach (Grant grant in decision.Grants)
        {
            long number = S.LastGrant = GrantNumbers.Next(S.LastGrant, now);
            var granted = grant.Devices.Select(d => d with { State = DeviceState.Busy, RunKey = grant.Ask.RunKey, Grant = number }).ToList();
            foreach (DeviceInfo device in granted)
                S.Devices[S.Devices.FindIndex(d => d.ShardKey == device.ShardKey)] = device;
            _queue.Remove(grant.Ask.RunKey);
            Claims[grant.Ask.RunKey] = new RunClaim { Ask = grant.Ask, Devices = granted.Count, GrantedUtc = now };
            _claimsChanged = true;
            grants.Add((grant.Ask, granted));
            meter.RecordWait(grant.Ask.Project, grant.Ask.Priority, now - grant.Ask.WaitingSinceUtc);
        }
        foreach (Preemption preemption in decision.Preemptions)
        {
            if (Claims.TryGetValue(preemption.RunKey, out RunClaim? claim) || Running().TryGetValue(preemption.RunKey, out claim))
            {
                Claims[preemption.RunKey] = claim with { PreemptingSinceUtc = now, PreemptedFor = preemption.Why };
                _claimsChanged = true;
            }
        }
        // Claims of runs that hold nothing any more (their silo restarted, or the release raced a grant) are dropped.
        var holding = S.Devices.Where(d => d.RunKey is not null).Select(d => d.RunKey!).ToHashSet(StringComparer.Ordinal);
        foreach (string stale in Claims.Keys.Where(k => !holding.Contains(k)).ToList())
            _claimsChanged |= Claims.Remove(stale);
        PublishMetrics();
        meter.PublishProjects(decision.Projects);
        if (grants.Count == 0 && decision.Preemptions.Count == 0 && !devicesChanged)
            return;
        await PersistAsync();
        foreach ((DeviceAsk ask, List<DeviceInfo> devices) in grants)
        {
            if (logger.IsEnabled(LogLevel.Information))
                LogGranted(logger, ask.RunKey, string.Join(", ", devices.Select(d => d.ShardKey)));
            await GrainFactory.GetGrain<ISeedRunGrain>(ask.RunKey).OnDevicesGrantedAsync(devices);
        }
        foreach (Preemption preemption in decision.Preemptions)
        {
            string reason = preemption.Reason switch
            {
                PreemptionReason.FairShare => "fair_share",
                PreemptionReason.Priority => "priority",
                _ => "quota",
            };
            meter.RecordPreemption(preemption.Project, reason);
            if (preemption.Reason == PreemptionReason.Quota)
                LogOverMax(logger, preemption.RunKey, preemption.Why);   // the operator lowered a max: say what it costs
            else
                LogPreempting(logger, preemption.RunKey, preemption.Why);
            await GrainFactory.GetGrain<ISeedRunGrain>(preemption.RunKey).PreemptAsync(preemption.Why);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: granted {Devices} to {RunKey}")]
    private static partial void LogGranted(ILogger logger, string runKey, string devices);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inventory: preempting {RunKey}: {Why}")]
    private static partial void LogPreempting(ILogger logger, string runKey, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inventory: preempting {RunKey} gracefully (it checkpoints and waits): {Why}")]
    private static partial void LogOverMax(ILogger logger, string runKey, string why);
}
