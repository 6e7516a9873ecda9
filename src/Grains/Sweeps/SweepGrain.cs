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
    private readonly ActiveState<SweepGrainState> _state = new(state);
    private SweepGrainState S => _state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_state.Exists && !S.State.IsFinal())
        {
            _ = GrainFactory.GetGrain<IExperimentRegistryGrain>(0).EnsureListedAsync(
                new RegistryEntry(Key, RegistryKind.Sweep, S.Sweep?.Name, S.CreatedUtc, S.Owner), S.State);
            StartReconciler();
        }
        return Task.CompletedTask;
    }

    private async Task PersistAsync() => await _state.WriteAsync(storage, $"sweep {Key}", logger);

    public Task<SweepStatus> SubmitAsync(SweepRequest request) => SpecRejectedException.Translate(() => SubmitCoreAsync(request));

    private async Task<SweepStatus> SubmitCoreAsync(SweepRequest request)
    {
        if (_state.Exists)
            throw new InvalidOperationException($"sweep {Key} already exists");
        IReadOnlyList<SweepConfiguration> configurations = SweepPlanner.Expand(request.Sweep, request.Base, options.Value.Paths);
        S.Sweep = request.Sweep;
        S.Owner = request.Owner;
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
        await GrainFactory.GetGrain<IExperimentRegistryGrain>(0).AddAsync(new RegistryEntry(Key, RegistryKind.Sweep, request.Sweep.Name, S.CreatedUtc, S.Owner));
        LogSubmitted(logger, Key, S.Configurations.Count);
        await LaunchAsync();
        return Status();
    }

    public Task<SweepStatus> GetStatusAsync() => _state.Exists
        ? Task.FromResult(Status())
        : throw new KeyNotFoundException($"no sweep {Key}");

    public async Task<SweepResults> GetResultsAsync()
    {
        if (!_state.Exists)
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
                Preemptions = seeds.Sum(s => s.Preemptions),
                AdapterDirectories = completed.Select(m => m.AdapterDirectory).OfType<string>().ToList(),
            });
        }
        return new SweepResults { Status = Status(), Rows = rows, Comparisons = SweepComparisons.Compare(S.Sweep.Compare, S.Configurations, perSeed, metrics) };
    }

    public async Task CancelAsync()
    {
        if (!_state.Exists)
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

    private SweepStatus Status() => new()
    {
        Id = Key,
        Name = S.Sweep?.Name,
        State = S.State,
        CreatedUtc = S.CreatedUtc,
        EarlyStopped = S.EarlyStopped,
        Owner = S.Owner ?? RunOwner.Local,
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep {Key}: {State}")]
    private static partial void LogFinished(ILogger logger, string key, RunState state);
}
