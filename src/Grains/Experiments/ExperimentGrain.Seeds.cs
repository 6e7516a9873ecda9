using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// The experiment following its seeds: their versioned statuses (the newest wins), the start of seeds that have not
/// answered, the reconciler that asks quiet seeds how they stand, and the announcement of the end to a sweep.
/// </summary>
public sealed partial class ExperimentGrain
{
    public Task OnSeedEndedAsync(SeedRunStatus status) => OnSeedStatusAsync(status);

    public async Task OnSeedStatusAsync(SeedRunStatus status)
    {
        _heardUtc[status.Seed] = DateTime.UtcNow;
        if (!S.Seeds.TryGetValue(status.Seed, out SeedRunStatus? previous) || previous.State.IsFinal())
            return;
        // One-way statuses can overtake each other: keep the highest version, and within one the furthest step.
        if (status.Version < previous.Version || (status.Version == previous.Version && status.Step < previous.Step))
            return;
        bool changed = status.Version > previous.Version || status.State != previous.State;
        // Written only when it matters after a move: the experiment's own state and a seed's end. A seed's queued or
        // running state comes back from the seed itself (the reconciler asks; a seed still "pending" in the stored copy
        // is started again, which only repeats its status), so it is not worth a write of every seed.
        bool worthWriting = status.State.IsFinal();
        S.Seeds[status.Seed] = status;
        RunState before = S.State;
        S.State = ExperimentStates.Derive(S.Seeds.Values, S.CancelRequested);
        if (S.State == RunState.Running)
            S.StartedUtc ??= DateTime.UtcNow;
        if (S.State.IsFinal())
        {
            S.FinishedUtc = DateTime.UtcNow;
            var failed = S.Seeds.Values.Where(s => s.State == RunState.Failed).ToList();
            S.Error = failed.Count == 0 ? null : string.Join("; ", failed.Select(s => $"seed {s.Seed}: {s.Error}"));
        }
        if (changed)
        {
            if (worthWriting || S.State != before)
                await PersistAsync();
            await Publisher.PublishAsync(ProgressWatch.SeedEvent(Key, status));
        }
        if (S.State != before)
        {
            await Registry.OnExperimentStateAsync(Key, S.State);
            LogState(logger, Key, S.State);
            if (!S.State.IsFinal())
                await Publisher.PublishAsync(ExperimentEvent());
        }
        if (S.State.IsFinal() && !before.IsFinal())
            await AnnounceEndAsync();
    }

    private async Task AnnounceEndAsync()
    {
        StopKicker();
        _reconciler?.Dispose();
        _reconciler = null;
        await Publisher.PublishAsync(ExperimentEvent());
        if (S.SweepId is not null)
            _ = GrainFactory.GetGrain<ISweepGrain>(S.SweepId).OnExperimentFinishedAsync(S.ConfigurationIndex, Status());
    }


    /// <summary>Starts every seed that has not answered yet (a few at a time per silo), now and every few seconds until all have.</summary>
    private void KickPendingSeeds()
    {
        var pending = S.Seeds.Values.Where(s => s.State == RunState.Pending).OrderBy(s => s.Seed).ToList();
        if (pending.Count == 0)
        {
            StopKicker();
            return;
        }
        _starter ??= new PendingSeedStarter(GrainFactory, startGate, logger);
        _starter.Kick([.. pending.Select(seed => ExperimentStates.PlanOf(Key, S.Spec!, seed.Seed, S.SweepId, S.Owner))],
            plan => !S.CancelRequested && S.Seeds.TryGetValue(plan.Seed, out SeedRunStatus? now) && now.State == RunState.Pending);
        TimeSpan every = options.Value.MembershipCheckInterval * 2;
        _kicker ??= this.RegisterGrainTimer(() => { KickPendingSeeds(); return Task.CompletedTask; }, every, every);
    }

    /// <summary>
    /// Asks every seed that has not reported for a while how it stands: a one-way report lost with a dying silo is caught
    /// up, and asking activates a seed run whose silo died, which restarts its timers.
    /// </summary>
    private void StartReconciler()
    {
        TimeSpan every = options.Value.ReconcileInterval;
        _reconciler ??= this.RegisterGrainTimer(async _ =>
        {
            DateTime now = DateTime.UtcNow;
            foreach (SeedRunStatus seed in S.Seeds.Values.Where(s => !s.State.IsFinal() && s.State != RunState.Pending).ToList())
            {
                // A queued seed is quiet until it gets devices: it is asked far less often (thousands may be queued).
                TimeSpan quiet = seed.State == RunState.Queued ? every * QueuedQuietFactor : every;
                if (_heardUtc.TryGetValue(seed.Seed, out DateTime heard) && now - heard < quiet)
                    continue;
                try
                {
                    await OnSeedStatusAsync(await GrainFactory.GetGrain<ISeedRunGrain>(SeedRunPlan.KeyOf(Key, seed.Seed)).GetStatusAsync());
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    LogReconcileFailed(logger, Key, seed.Seed, e.Message);   // asked again next time
                }
            }
        }, every, every);
    }

    private void StopKicker()
    {
        _kicker?.Dispose();
        _kicker = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Experiment {Key}: {State}")]
    private static partial void LogState(ILogger logger, string key, RunState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Experiment {Key}: could not ask seed {Seed} how it stands: {Error}")]
    private static partial void LogReconcileFailed(ILogger logger, string key, long seed, string error);
}
