using FlatLora.Abstractions.Experiments;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// An experiment's pass over its seeds that have not answered yet: each is started through the silo's
/// <see cref="SeedStartGate"/> and awaited, so a large submission queues at the pace the silo can take. The pass runs
/// inside the experiment's activation but outside any request (the experiment keeps answering status, cancel and its
/// seeds' reports meanwhile); a seed whose start failed stays pending and is started again by the next pass.
/// </summary>
internal sealed partial class PendingSeedStarter(IGrainFactory grains, SeedStartGate gate, ILogger logger)
{
    private Task? _pass;

    /// <summary>Starts a pass unless one is under way; returns at once.</summary>
    /// <param name="plans">The seeds pending now, in start order.</param>
    /// <param name="stillWanted">Asked before each start: the seed may have answered, or the experiment been cancelled.</param>
    public void Kick(IReadOnlyList<SeedRunPlan> plans, Func<SeedRunPlan, bool> stillWanted)
    {
        if (_pass is { IsCompleted: false } || plans.Count == 0)
            return;
        _pass = PassAsync(plans, stillWanted);
    }

    private async Task PassAsync(IReadOnlyList<SeedRunPlan> plans, Func<SeedRunPlan, bool> stillWanted)
    {
        foreach (SeedRunPlan plan in plans)
        {
            if (!stillWanted(plan))
                continue;
            using SeedStartGate.Slot slot = await gate.EnterAsync();
            if (!stillWanted(plan))
                continue;
            try
            {
                await grains.GetGrain<ISeedRunGrain>(plan.RunKey).StartAsync(plan).WaitAsync(gate.SlotTimeout);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogStartFailed(logger, plan.RunKey, e.Message);   // still pending: the next pass starts it
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SeedRun {Key}: its start did not get through yet, repeated later: {Error}")]
    private static partial void LogStartFailed(ILogger logger, string key, string error);
}
