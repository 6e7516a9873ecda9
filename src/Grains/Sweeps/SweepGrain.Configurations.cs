using FlatLora.Abstractions.Experiments;
using Microsoft.Extensions.Logging;

namespace FlatLora.Grains.Sweeps;

/// <summary>
/// The sweep's configurations: each launched as an experiment while fewer than max_concurrent run, asked how it
/// stands when quiet, and the sweep completed once every one has ended.
/// </summary>
public sealed partial class SweepGrain
{
    public async Task OnExperimentFinishedAsync(int configurationIndex, ExperimentStatus status)
    {
        SweepConfigurationState configuration = S.Configurations[configurationIndex];
        if (configuration.State.IsFinal())
            return;   // told twice (the experiment announces its end again on a repeated start)
        configuration.State = status.State;
        await PersistAsync();
        await LaunchAsync();
        await CompleteIfDoneAsync();
    }

    /// <summary>
    /// Starts pending configurations while fewer than max_concurrent are in flight. Each launch is persisted, then sent
    /// one-way; the loop reads the state afresh each time, so nothing a cancel marked is launched.
    /// </summary>
    private async Task LaunchAsync()
    {
        while (!S.CancelRequested
               && S.Configurations.Count(c => c.ExperimentId is not null && !c.State.IsFinal()) < S.Sweep!.MaxConcurrent
               && S.Configurations.FirstOrDefault(c => c.ExperimentId is null && !c.State.IsFinal()) is { } configuration)
        {
            configuration.ExperimentId = $"{Key}-c{configuration.Index:D3}";
            configuration.State = RunState.Queued;
            S.State = RunState.Running;
            await PersistAsync();
            Launch(configuration);
        }
        StartReconciler();
    }

    private void Launch(SweepConfigurationState configuration) =>
        _ = GrainFactory.GetGrain<IExperimentGrain>(configuration.ExperimentId!).StartAsync(new ExperimentRequest
        {
            Spec = configuration.Spec!,
            SweepId = Key,
            ConfigurationIndex = configuration.Index,
            ConfigurationLabel = configuration.Label,
            Owner = S.Owner ?? RunOwner.Local,
        });

    /// <summary>
    /// Launches are one-way and so are the experiments' ends: every so often the sweep asks each launched experiment how
    /// it stands. One that does not exist yet is launched again (StartAsync is idempotent), one that ended is counted as
    /// ended, and asking activates an experiment whose silo died.
    /// </summary>
    private void StartReconciler()
    {
        if (S.State.IsFinal())
            return;
        TimeSpan every = options.Value.ReconcileInterval;
        _reconciler ??= this.RegisterGrainTimer(async _ =>
        {
            foreach (SweepConfigurationState configuration in S.Configurations.Where(c => c.ExperimentId is not null && !c.State.IsFinal()).ToList())
            {
                try
                {
                    ExperimentStatus status = await GrainFactory.GetGrain<IExperimentGrain>(configuration.ExperimentId!).GetStatusAsync();
                    if (status.State.IsFinal())
                        await OnExperimentFinishedAsync(configuration.Index, status);
                }
                catch (KeyNotFoundException)
                {
                    Launch(configuration);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    LogReconcileFailed(logger, Key, configuration.Label, e.Message);   // asked again next time
                }
            }
            if (S.State.IsFinal())
            {
                _reconciler?.Dispose();
                _reconciler = null;
            }
        }, every, every);
    }

    private async Task CompleteIfDoneAsync()
    {
        if (S.State.IsFinal() || !S.Configurations.All(c => c.State.IsFinal()))
            return;
        S.State = S.CancelRequested ? RunState.Cancelled : RunState.Completed;
        await PersistAsync();
        await this.GetStreamProvider(ProgressStreams.Provider).GetStream<ProgressEvent>(ProgressStreams.Sweep(Key))
            .OnNextAsync(ProgressWatch.RootEvent(Key, S.State, null));
        LogFinished(logger, Key, S.State);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sweep {Key}: could not ask configuration {Label} how it stands: {Error}")]
    private static partial void LogReconcileFailed(ILogger logger, string key, string label, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep {Key}: could not start configuration {Label}: {Error}")]
    private static partial void LogLaunchFailed(ILogger logger, string key, string label, string error);
}
