using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Grains.Hosting;
using FlatLora.Grains.Persistence;
using Orleans.Streams;
using Orleans.Streams.Core;
using FlatLora.Grains.Statistics;
using FlatLora.Spec;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Sweeps;

/// <summary>
/// A sweep: every configuration of the grid × random search becomes an experiment ("{sweep}-cNNN") over the sweep's
/// seeds; at most max_concurrent configurations run at once. Successive halving stops weak seeds at each rung.
/// Results: mean ± std per configuration, and Welch t-tests between configurations that differ only in the compared
/// field (e.g. method.name lora vs flat).
/// </summary>
[ImplicitStreamSubscription(ProgressStreams.SweepNamespace)]
public sealed partial class SweepGrain(
    [PersistentState("sweep", StorageNames.Default)] IPersistentState<SweepGrainState> state,
    StorageHealth storage,
    IOptions<FlatLoraClusterOptions> options,
    ILogger<SweepGrain> logger) : Grain, ISweepGrain, IStreamSubscriptionObserver, IAsyncObserver<ProgressEvent>
{
    private IGrainTimer? _reconciler;

    private string Key => this.GetPrimaryKeyString();
    private SweepGrainState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.RecordExists && !S.State.IsFinal())
        {
            _ = GrainFactory.GetGrain<IExperimentRegistryGrain>(0).EnsureListedAsync(
                new RegistryEntry(Key, RegistryKind.Sweep, S.Sweep?.Name, S.CreatedUtc), S.State);
            StartReconciler();
        }
        return Task.CompletedTask;
    }

    private async Task PersistAsync() => await state.WriteDurablyAsync(storage, $"sweep {Key}", logger);

    public Task<SweepStatus> SubmitAsync(SweepRequest request) => SpecRejectedException.Translate(() => SubmitCoreAsync(request));

    private async Task<SweepStatus> SubmitCoreAsync(SweepRequest request)
    {
        if (state.RecordExists)
            throw new InvalidOperationException($"sweep {Key} already exists");
        IReadOnlyList<SweepConfiguration> configurations = SweepPlanner.Expand(request.Sweep, request.Base, options.Value.Paths);
        S.Sweep = request.Sweep;
        S.CreatedUtc = DateTime.UtcNow;
        S.State = RunState.Queued;
        S.Configurations = configurations.Select(c => new SweepConfigurationState
        {
            Index = c.Index,
            Label = c.Label,
            Overrides = c.Overrides.ToList(),
            Spec = c.Spec,
        }).ToList();
        await PersistAsync();
        await GrainFactory.GetGrain<IExperimentRegistryGrain>(0).AddAsync(new RegistryEntry(Key, RegistryKind.Sweep, request.Sweep.Name, S.CreatedUtc));
        LogSubmitted(logger, Key, S.Configurations.Count);
        await LaunchAsync();
        return Status();
    }

    public Task<SweepStatus> GetStatusAsync() => state.RecordExists
        ? Task.FromResult(Status())
        : throw new KeyNotFoundException($"no sweep {Key}");

    public async Task<SweepResults> GetResultsAsync()
    {
        if (!state.RecordExists)
            throw new KeyNotFoundException($"no sweep {Key}");
        string[] metrics = S.Sweep!.Metrics;
        var perSeed = new Dictionary<int, List<RunMetrics>>();
        var rows = new List<ConfigurationResult>();
        foreach (SweepConfigurationState configuration in S.Configurations)
        {
            var seeds = new List<SeedRunStatus>();
            if (configuration.ExperimentId is not null)
                seeds.AddRange((await GrainFactory.GetGrain<IExperimentGrain>(configuration.ExperimentId).GetStatusAsync()).Seeds);
            var completed = seeds.Where(s => s.State == RunState.Completed && s.Metrics is not null).Select(s => s.Metrics!).ToList();
            perSeed[configuration.Index] = completed;
            rows.Add(new ConfigurationResult
            {
                Index = configuration.Index,
                Label = configuration.Label,
                ExperimentId = configuration.ExperimentId,
                Metrics = MetricAggregator.Summarize(completed, metrics),
                Seeds = completed.Count,
                Stopped = seeds.Count(s => s.State == RunState.Stopped),
                AdapterDirectories = completed.Select(m => m.AdapterDirectory).OfType<string>().ToList(),
            });
        }
        return new SweepResults { Status = Status(), Rows = rows, Comparisons = SweepComparisons.Compare(S.Sweep.Compare, S.Configurations, perSeed, metrics) };
    }

    public async Task CancelAsync()
    {
        if (!state.RecordExists)
            throw new KeyNotFoundException($"no sweep {Key}");
        if (S.State.IsFinal() || S.CancelRequested)
            return;
        S.CancelRequested = true;
        foreach (SweepConfigurationState configuration in S.Configurations.Where(c => c.ExperimentId is null))
            configuration.State = RunState.Cancelled;
        await PersistAsync();
        foreach (SweepConfigurationState configuration in S.Configurations.Where(c => c.ExperimentId is not null && !c.State.IsFinal()))
            await GrainFactory.GetGrain<IExperimentGrain>(configuration.ExperimentId!).CancelAsync();
        await CompleteIfDoneAsync();
    }

    /// <summary>This sweep's progress stream, which its experiments and their seed runs also publish to.</summary>
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<ProgressEvent>().ResumeAsync(this);

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    /// <summary>A trial's event: it answers its configuration's launch, and evaluations feed successive halving.</summary>
    public async Task OnNextAsync(ProgressEvent progress, StreamSequenceToken? token = null)
    {
        int configurationIndex = S.Configurations.FindIndex(c => c.ExperimentId == progress.ExperimentId);
        if (configurationIndex < 0)
            return;   // this sweep's own events come back here too
        if (S.Configurations[configurationIndex].State == RunState.Queued)
            S.Configurations[configurationIndex].State = RunState.Running;   // it answered: no need to launch it again
        if (S.Sweep?.Asha is not AshaSpec asha || progress.Kind != ProgressKind.Eval || progress.Seed < 0)
            return;
        double value = asha.Metric switch
        {
            "eval_exact_match" => progress.EvalExactMatch,
            "eval_token_accuracy" => progress.EvalTokenAccuracy,
            _ => progress.EvalLoss,
        };
        var scheduler = new AshaScheduler(asha, S.AshaRecords);
        if (scheduler.Report($"{configurationIndex}/{progress.Seed}", progress.Step, value) is long rung)
        {
            S.EarlyStopped++;
            await PersistAsync();
            LogEarlyStop(logger, Key, configurationIndex, progress.Seed, rung);
            await GrainFactory.GetGrain<IExperimentGrain>(progress.ExperimentId).StopSeedAsync(progress.Seed,
                $"successive halving: {asha.Metric} {value:G4} not in the best 1/{asha.Reduction} at step {rung}");
        }
        else if (S.AshaRecords.Count > 0)
        {
            await PersistAsync();
        }
    }

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

    private SweepStatus Status() => new()
    {
        Id = Key,
        Name = S.Sweep?.Name,
        State = S.State,
        CreatedUtc = S.CreatedUtc,
        EarlyStopped = S.EarlyStopped,
        Configurations = S.Configurations.Select(c => new SweepConfigurationStatus
        {
            Index = c.Index,
            Label = c.Label,
            ExperimentId = c.ExperimentId,
            State = c.State,
            Overrides = c.Overrides,
        }).ToList(),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Key}: submitted with {Count} configuration(s)")]
    private static partial void LogSubmitted(ILogger logger, string key, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Key}: configuration {Index} seed {Seed} stopped early at step {Rung}")]
    private static partial void LogEarlyStop(ILogger logger, string key, int index, long seed, long rung);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sweep {Key}: could not ask configuration {Label} how it stands: {Error}")]
    private static partial void LogReconcileFailed(ILogger logger, string key, string label, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep {Key}: could not start configuration {Label}: {Error}")]
    private static partial void LogLaunchFailed(ILogger logger, string key, string label, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Key}: {State}")]
    private static partial void LogFinished(ILogger logger, string key, RunState state);
}
