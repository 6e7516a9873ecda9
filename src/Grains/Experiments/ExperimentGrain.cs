using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Grains.Statistics;
using FlatLora.Spec;
using Microsoft.Extensions.Logging;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// One experiment: a validated spec run once per seed, each seed a <see cref="SeedRunGrain"/>. The experiment's state
/// follows its seeds: Queued until one runs, Running, then Completed, Failed (any seed failed), Cancelled or Stopped.
/// </summary>
public sealed partial class ExperimentGrain(
    [PersistentState("experiment", StorageNames.Default)] IPersistentState<ExperimentGrainState> state,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain
{
    /// <summary>Seed of progress events about the experiment as a whole (not one seed).</summary>
    public const long ExperimentLevel = -1;

    private readonly EventFanout _events = new();

    private string Key => this.GetPrimaryKeyString();
    private ExperimentGrainState S => state.State;

    public Task<ExperimentStatus> SubmitAsync(ExperimentRequest request) => SpecRejectedException.Translate(() => SubmitCoreAsync(request));

    private async Task<ExperimentStatus> SubmitCoreAsync(ExperimentRequest request)
    {
        if (state.RecordExists)
            throw new InvalidOperationException($"experiment {Key} already exists");
        TrainSpec spec = request.Spec;
        ValidTrainSpec.From(spec);   // the cluster's edge: a spec from the wire is checked here, before anything is stored

        S.Spec = spec;
        S.State = RunState.Queued;
        S.CreatedUtc = DateTime.UtcNow;
        S.SweepId = request.SweepId;
        S.ConfigurationIndex = request.ConfigurationIndex;
        S.ConfigurationLabel = request.ConfigurationLabel;
        foreach (long seed in spec.ExperimentSeeds)
            S.Seeds[seed] = new SeedRunStatus { Seed = seed, State = RunState.Pending };
        await state.WriteStateAsync();
        IExperimentRegistryGrain registry = GrainFactory.GetGrain<IExperimentRegistryGrain>(0);
        await registry.AddAsync(new RegistryEntry(Key, "experiment", spec.Experiment.Name, S.CreatedUtc));
        await registry.OnExperimentStateAsync(Key, S.State);
        LogSubmitted(logger, Key, S.Seeds.Count, spec.Method.Name);

        foreach (long seed in spec.ExperimentSeeds)
        {
            var plan = new SeedRunPlan
            {
                ExperimentId = Key,
                Seed = seed,
                Spec = spec with { Seed = seed, OutputDir = Path.Combine(spec.OutputDir, Key, $"seed-{seed}") },
                WorldSize = spec.Experiment.WorldSize,
                MaxRetries = spec.Experiment.MaxRetries,
                MinWorldSize = spec.Experiment.MinWorldSize ?? 1,
            };
            await GrainFactory.GetGrain<ISeedRunGrain>(plan.RunKey).StartAsync(plan);
        }
        return Status();
    }

    public Task<ExperimentStatus> GetStatusAsync() => state.RecordExists
        ? Task.FromResult(Status())
        : throw new KeyNotFoundException($"no experiment {Key}");

    public Task<ExperimentResults> GetResultsAsync()
    {
        if (!state.RecordExists)
            throw new KeyNotFoundException($"no experiment {Key}");
        var completed = S.Seeds.Values.Where(s => s.State == RunState.Completed && s.Metrics is not null).Select(s => s.Metrics!);
        return Task.FromResult(new ExperimentResults { Status = Status(), Summary = MetricAggregator.Summarize(completed, RunMetrics.Names) });
    }

    public Task<TrainSpec> GetSpecAsync() => state.RecordExists
        ? Task.FromResult(S.Spec!)
        : throw new KeyNotFoundException($"no experiment {Key}");

    public async Task CancelAsync()
    {
        if (!state.RecordExists)
            throw new KeyNotFoundException($"no experiment {Key}");
        if (S.State.IsFinal() || S.CancelRequested)
            return;
        S.CancelRequested = true;
        await state.WriteStateAsync();
        foreach (SeedRunStatus seed in S.Seeds.Values.Where(s => !s.State.IsFinal()).ToList())
            await GrainFactory.GetGrain<ISeedRunGrain>(SeedRunPlan.KeyOf(Key, seed.Seed)).CancelAsync("cancelled by user");
    }

    public Task StopSeedAsync(long seed, string reason) =>
        GrainFactory.GetGrain<ISeedRunGrain>(SeedRunPlan.KeyOf(Key, seed)).CancelAsync(reason, stopped: true);

    public IAsyncEnumerable<ProgressEvent> WatchAsync(CancellationToken cancellationToken = default)
    {
        if (!state.RecordExists)
            throw new KeyNotFoundException($"no experiment {Key}");
        var snapshot = S.Seeds.Values.Select(SeedEvent).Append(ExperimentEvent()).ToList();
        return _events.Subscribe(snapshot, S.State.IsFinal(), cancellationToken);
    }

    public async Task OnSeedProgressAsync(ProgressEvent progress)
    {
        if (!S.Seeds.TryGetValue(progress.Seed, out SeedRunStatus? seed) || seed.State.IsFinal())
            return;   // a late event after the seed ended
        if (progress.Kind == ProgressKind.Step)
        {
            S.Seeds[progress.Seed] = seed with { Step = progress.Step, TotalSteps = progress.TotalSteps, Latest = progress.Figures, State = RunState.Running };
        }
        _events.Publish(progress);
        if (S.SweepId is not null)
            await GrainFactory.GetGrain<ISweepGrain>(S.SweepId).OnExperimentProgressAsync(S.ConfigurationIndex, progress);
    }

    /// <summary>
    /// One-way status reports can overtake each other: a "queued" report sent before a grant may land after the
    /// "running" one. Attempts only grow, and within one attempt "queued" (waiting to retry) comes after "running".
    /// </summary>
    private static bool IsStale(SeedRunStatus status, SeedRunStatus previous)
    {
        if (status.State.IsFinal())
            return false;
        static (int Attempt, int Phase) Order(SeedRunStatus s) => (s.Attempt, s.State == RunState.Queued && s.Attempt > 0 ? 1 : 0);
        (int attempt, int phase) = Order(status);
        (int previousAttempt, int previousPhase) = Order(previous);
        return attempt < previousAttempt || (attempt == previousAttempt && phase < previousPhase);
    }

    public async Task OnSeedStatusAsync(SeedRunStatus status)
    {
        if (!S.Seeds.TryGetValue(status.Seed, out SeedRunStatus? previous) || previous.State.IsFinal() || IsStale(status, previous))
            return;
        S.Seeds[status.Seed] = status;
        RunState before = S.State;
        S.State = Derive();
        if (S.State == RunState.Running)
            S.StartedUtc ??= DateTime.UtcNow;
        if (S.State.IsFinal())
        {
            S.FinishedUtc = DateTime.UtcNow;
            var failed = S.Seeds.Values.Where(s => s.State == RunState.Failed).ToList();
            S.Error = failed.Count == 0 ? null : string.Join("; ", failed.Select(s => $"seed {s.Seed}: {s.Error}"));
        }
        await state.WriteStateAsync();
        _events.Publish(SeedEvent(status));
        if (S.State != before)
        {
            await GrainFactory.GetGrain<IExperimentRegistryGrain>(0).OnExperimentStateAsync(Key, S.State);
            _events.Publish(ExperimentEvent());
            LogState(logger, Key, S.State);
        }
        if (S.State.IsFinal() && !before.IsFinal())
        {
            _events.Complete();
            if (S.SweepId is not null)
                await GrainFactory.GetGrain<ISweepGrain>(S.SweepId).OnExperimentFinishedAsync(S.ConfigurationIndex, Status());
        }
    }

    private RunState Derive()
    {
        var seeds = S.Seeds.Values.ToList();
        if (seeds.All(s => s.State.IsFinal()))
        {
            if (seeds.Any(s => s.State == RunState.Failed))
                return RunState.Failed;
            if (S.CancelRequested && seeds.Any(s => s.State == RunState.Cancelled))
                return RunState.Cancelled;
            return seeds.All(s => s.State == RunState.Stopped) ? RunState.Stopped : RunState.Completed;
        }
        return seeds.Any(s => s.State is RunState.Running || s.State.IsFinal()) ? RunState.Running : RunState.Queued;
    }

    private ExperimentStatus Status() => new()
    {
        Id = Key,
        Name = S.Spec?.Experiment.Name,
        State = S.State,
        CreatedUtc = S.CreatedUtc,
        StartedUtc = S.StartedUtc,
        FinishedUtc = S.FinishedUtc,
        Error = S.Error,
        Seeds = S.Seeds.Values.OrderBy(s => s.Seed).ToList(),
        Method = S.Spec?.Method.Name ?? "",
        Rho = S.Spec is { } spec && spec.Method.IsFlat ? spec.Method.Rho : 0,
        SweepId = S.SweepId,
        Configuration = S.ConfigurationLabel,
        WorldSize = S.Spec?.Experiment.WorldSize ?? 1,
    };

    private ProgressEvent SeedEvent(SeedRunStatus seed) => new()
    {
        ExperimentId = Key,
        Seed = seed.Seed,
        Kind = ProgressKind.State,
        State = seed.State,
        Step = seed.Step,
        TotalSteps = seed.TotalSteps,
        Figures = seed.Latest,
        Message = seed.Error,
    };

    private ProgressEvent ExperimentEvent() => new()
    {
        ExperimentId = Key,
        Seed = ExperimentLevel,
        Kind = ProgressKind.State,
        State = S.State,
        Message = S.Error,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Experiment {Key}: submitted, {Seeds} seed(s), method {Method}")]
    private static partial void LogSubmitted(ILogger logger, string key, int seeds, string method);

    [LoggerMessage(Level = LogLevel.Information, Message = "Experiment {Key}: {State}")]
    private static partial void LogState(ILogger logger, string key, RunState state);
}
