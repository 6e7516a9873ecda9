using FlatLora.Abstractions;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Hosting;
using FlatLora.Grains.Persistence;
using FlatLora.Grains.Statistics;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Experiments;

/// <summary>
/// One experiment: a validated spec run once per seed, each seed a <see cref="SeedRunGrain"/>. Turns are short: the
/// experiment persists, then starts its seeds outside any turn, a few at a time per silo (<see cref="PendingSeedStarter"/>),
/// and keeps starting the seeds that have not answered (after a lost call, or on reactivation). Its state follows its seeds' versioned statuses: Queued until one runs,
/// Running, then Completed, Failed (any seed failed), Cancelled or Stopped.
/// </summary>
public sealed partial class ExperimentGrain(
    [PersistentState("experiment", StorageNames.Default)] IPersistentState<ExperimentGrainState> state,
    IOptions<FlatLoraClusterOptions> options,
    StorageHealth storage,
    SeedStartGate startGate,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain
{
    private PendingSeedStarter? _starter;
    private IGrainTimer? _kicker;
    private IGrainTimer? _reconciler;
    private const int QueuedQuietFactor = 10;

    // When each seed last reported (in memory: after a move, every seed is asked once).
    private readonly Dictionary<long, DateTime> _heardUtc = [];

    private string Key => this.GetPrimaryKeyString();
    private readonly ActiveState<ExperimentGrainState> _state = new(state);
    private ExperimentGrainState S => _state.State;
    private bool Created => _state.Exists && S.Spec is not null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Created)
        {
            // The registry may have lost its record of this experiment with its storage: it adds it back if so.
            _ = Registry.EnsureListedAsync(new RegistryEntry(Key, RegistryKind.Experiment, S.Spec!.Experiment.Name, S.CreatedUtc, S.Owner), S.State);
            if (!S.State.IsFinal())
            {
                KickPendingSeeds();
                StartReconciler();
            }
        }
        return Task.CompletedTask;
    }

    public Task<ExperimentStatus> SubmitAsync(ExperimentRequest request) => SpecRejectedException.Translate(async () =>
    {
        if (_state.Exists)
            throw new InvalidOperationException($"experiment {Key} already exists");
        await CreateAsync(request);
        return Status();
    });

    public async Task StartAsync(ExperimentRequest request)
    {
        if (Created)
            return;   // the sweep asking again
        try
        {
            await CreateAsync(request);
        }
        catch (SpecException e)
        {
            // The sweep checked every configuration; this only happens if a file it names vanished since.
            LogStartRefused(logger, Key, e.Message);
        }
    }

    private async Task CreateAsync(ExperimentRequest request)
    {
        // The cluster's edge: a spec from the wire has its paths confined to the cluster's roots (before any file is
        // looked at, so a path outside says nothing about what exists there) and is checked here, before anything is stored.
        TrainSpec spec = options.Value.Paths?.Confine(request.Spec) ?? request.Spec;
        ValidTrainSpec.From(spec);
        bool cancelledFirst = S.CancelRequested;
        S.Spec = spec;
        S.State = cancelledFirst ? RunState.Cancelled : RunState.Queued;
        S.CreatedUtc = DateTime.UtcNow;
        S.SweepId = request.SweepId;
        S.ConfigurationIndex = request.ConfigurationIndex;
        S.ConfigurationLabel = request.ConfigurationLabel;
        S.Owner = request.Owner;
        foreach (long seed in spec.ExperimentSeeds)
            S.Seeds[seed] = new SeedRunStatus { Seed = seed, State = cancelledFirst ? RunState.Cancelled : RunState.Pending };
        await PersistAsync();
        await Registry.AddAsync(new RegistryEntry(Key, RegistryKind.Experiment, spec.Experiment.Name, S.CreatedUtc, S.Owner));
        await Registry.OnExperimentStateAsync(Key, S.State);
        LogSubmitted(logger, Key, S.Seeds.Count, spec.Method.Name);
        await Publisher.PublishAsync(ExperimentEvent());   // for a sweep's experiment this also answers the sweep's launch
        if (cancelledFirst)
        {
            await AnnounceEndAsync();
            return;
        }
        KickPendingSeeds();
        StartReconciler();
        foreach (long seed in S.Seeds.Keys)
            _heardUtc[seed] = DateTime.UtcNow;
    }

    public Task<ExperimentStatus> GetStatusAsync() => Created
        ? Task.FromResult(Status())
        : throw new KeyNotFoundException($"no experiment {Key}");

    public Task<ExperimentResults> GetResultsAsync()
    {
        if (!Created)
            throw new KeyNotFoundException($"no experiment {Key}");
        var completed = S.Seeds.Values.Where(s => s.State == RunState.Completed && s.Metrics is not null).Select(s => s.Metrics!).ToList();
        // The standard metrics, and each sharpness@σ any seed measured (evaluation.flatness).
        var names = completed.SelectMany(m => m.AllNames).Distinct().ToList();
        return Task.FromResult(new ExperimentResults { Status = Status(), Summary = MetricAggregator.Summarize(completed, names.Count > 0 ? names : RunMetrics.Names) });
    }

    public Task<TrainSpec> GetSpecAsync() => Created
        ? Task.FromResult(S.Spec!)
        : throw new KeyNotFoundException($"no experiment {Key}");

    public async Task CancelAsync()
    {
        if (S.State.IsFinal() || S.CancelRequested)
            return;
        // Persisted first: a start that arrives later (a sweep's launch, a seed's late start) finds it.
        S.CancelRequested = true;
        await PersistAsync();
        foreach (SeedRunStatus seed in S.Seeds.Values.Where(s => !s.State.IsFinal()).ToList())
            _ = GrainFactory.GetGrain<ISeedRunGrain>(SeedRunPlan.KeyOf(Key, seed.Seed)).CancelAsync("cancelled by user");
    }

    public Task StopSeedAsync(long seed, string reason) =>
        GrainFactory.GetGrain<ISeedRunGrain>(SeedRunPlan.KeyOf(Key, seed)).CancelAsync(reason, stopped: true);

    private ProgressPublisher Publisher => new(this.GetStreamProvider(ProgressStreams.Provider), Key, S.SweepId, logger);
    private async Task PersistAsync()
    {
        if (await _state.WriteAsync(storage, $"experiment {Key}", logger) && S.Spec is not null)
            _ = Registry.EnsureListedAsync(new RegistryEntry(Key, RegistryKind.Experiment, S.Spec.Experiment.Name, S.CreatedUtc, S.Owner), S.State);
    }

    private IExperimentRegistryGrain Registry => GrainFactory.GetGrain<IExperimentRegistryGrain>(0);

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
        Owner = S.Owner ?? RunOwner.Local,
    };

    private ProgressEvent ExperimentEvent() => ProgressWatch.RootEvent(Key, S.State, S.Error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Experiment {Key}: submitted, {Seeds} seed(s), method {Method}")]
    private static partial void LogSubmitted(ILogger logger, string key, int seeds, string method);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Experiment {Key}: a sweep's start was refused: {Error}")]
    private static partial void LogStartRefused(ILogger logger, string key, string error);
}
