using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// A seed run's calls to the inventory: asking it for devices, giving them back, and naming the ones
/// that went silent. The inventory may be unreachable for a while (its silo just died): a failure is logged and the
/// seed run's queue keeper asks again. Every call is idempotent.
/// </summary>
internal sealed partial class InventoryClient(IClusterInventoryGrain inventory, string runKey, ILogger logger)
{
    /// <summary>Frees the last attempt's devices (once) and queues for new ones; returns whether the state changed.</summary>
    public async Task<bool> RequestAsync(SeedRunGrainState state)
    {
        bool changed = false;
        try
        {
            if (state.ReleasePending)
            {
                await inventory.ReleaseAsync(runKey);
                state.ReleasePending = false;
                changed = true;
            }
            await inventory.RequestDevicesAsync(AskOf(state, DateTime.UtcNow));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnreachable(logger, runKey, e.Message);
        }
        return changed;
    }

    /// <summary>What the scheduler orders the run by: its owner's project and user, its priority, and its place in line.</summary>
    public DeviceAsk AskOf(SeedRunGrainState state, DateTime now)
    {
        SeedRunPlan plan = state.Plan!;
        RunOwner owner = plan.Owner ?? RunOwner.Local;
        return new DeviceAsk
        {
            RunKey = runKey,
            Count = plan.WorldSize,
            Minimum = Math.Clamp(plan.MinWorldSize, 1, plan.WorldSize),
            QueuedUtc = state.QueuedUtc ?? now,
            WaitingSinceUtc = state.WaitingSinceUtc ?? state.QueuedUtc ?? now,
            Project = owner.Project,
            User = owner.User,
            Priority = plan.Priority,
            Preemptible = plan.Preemptible,
            Preempted = state.State == RunState.Preempted,
        };
    }

    /// <summary>Tells the scheduler the run just checkpointed (a hint for choosing whom to preempt: fire and forget).</summary>
    public void Checkpointed() => _ = inventory.OnCheckpointAsync(runKey);

    /// <returns>Whether the inventory took the devices back (else the caller asks again later).</returns>
    public async Task<bool> ReleaseAsync()
    {
        try
        {
            await inventory.ReleaseAsync(runKey);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnreachable(logger, runKey, e.Message);
            return false;
        }
    }

    /// <summary>Keeps the devices out of the next grant for a while (a hint: the retry does not depend on it).</summary>
    public async Task ReportLostAsync(IEnumerable<DeviceInfo> lost, TimeSpan quarantine)
    {
        try
        {
            foreach (DeviceInfo device in lost)
                await inventory.ReportDeviceLostAsync(device.ShardKey, quarantine);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogUnreachable(logger, runKey, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SeedRun {Key}: inventory unreachable, will ask again: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string key, string error);
}
