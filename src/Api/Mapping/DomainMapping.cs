using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using Google.Protobuf.WellKnownTypes;

namespace FlatLora.Api.Mapping;

/// <summary>
/// The public API's messages back as the cluster's records (what a client reads), so the CLI renders API answers with
/// the same views as before. The inverse of <see cref="ProtoMapping"/>; the round trip is tested field by field.
/// </summary>
public static class DomainMapping
{
    public static RunState ToDomain(this V1.RunState state) => state == V1.RunState.Unspecified ? RunState.Pending : (RunState)((int)state - 1);

    private static DateTime? ToDomain(this Timestamp? timestamp) => timestamp?.ToDateTime();

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    public static RunMetrics ToDomain(this V1.RunMetrics m) => new()
    {
        Steps = m.Steps,
        InitialLoss = m.InitialLoss,
        FinalLoss = m.FinalLoss,
        EvalLoss = m.EvalLoss,
        EvalExactMatch = m.EvalExactMatch,
        EvalTokenAccuracy = m.EvalTokenAccuracy,
        TokensPerSecond = m.TokensPerSecond,
        ElapsedSeconds = m.ElapsedSeconds,
        AdapterDirectory = NullIfEmpty(m.AdapterDirectory),
        FrozenWeightsUnchanged = m.HasFrozenWeightsUnchanged ? m.FrozenWeightsUnchanged : null,
        EvalSegmentDrift = m.EvalSegmentDrift,
        EvalHighDriftShare = m.EvalHighDriftShare,
        Sharpness = new Dictionary<string, double>(m.Sharpness),
    };

    public static StepFigures ToDomain(this V1.StepFigures f) => new()
    {
        Step = f.Step,
        TotalSteps = f.TotalSteps,
        Loss = f.Loss,
        LearningRate = f.LearningRate,
        Sigma = f.Sigma,
        GradNorm = f.GradNorm,
        Tokens = f.Tokens,
        Samples = f.Samples,
        StepSeconds = f.StepSeconds,
        TokensPerSecond = f.TokensPerSecond,
        EtaSeconds = f.EtaSeconds,
        ExchangeBytes = f.ExchangeBytes,
        ExchangeSeconds = f.ExchangeSeconds,
        DriftPenalty = f.HasDriftPenalty ? f.DriftPenalty : null,
        NormPenalty = f.HasNormPenalty ? f.NormPenalty : null,
    };

    public static MetricSummary ToDomain(this V1.MetricSummary s) => new(s.Metric, s.Mean, s.Std, s.Count);

    public static SeedRunStatus ToDomain(this V1.SeedRun s) => new()
    {
        Seed = s.Seed,
        State = s.State.ToDomain(),
        Step = s.Step,
        TotalSteps = s.TotalSteps,
        Attempt = s.Attempt,
        UnroutedStarts = s.UnroutedStarts,
        Preemptions = s.Preemptions,
        Devices = [.. s.Devices],
        LastCheckpoint = NullIfEmpty(s.LastCheckpoint),
        Error = NullIfEmpty(s.Error),
        OutputDirectory = NullIfEmpty(s.OutputDirectory),
        Latest = s.Latest?.ToDomain(),
        Metrics = s.Metrics?.ToDomain(),
        Version = s.Version,
    };

    public static ExperimentStatus ToDomain(this V1.Experiment e) => new()
    {
        Id = e.Id,
        Name = NullIfEmpty(e.Name),
        State = e.State.ToDomain(),
        CreatedUtc = e.Created?.ToDateTime() ?? default,
        StartedUtc = e.Started.ToDomain(),
        FinishedUtc = e.Finished.ToDomain(),
        Error = NullIfEmpty(e.Error),
        Seeds = [.. e.Seeds.Select(ToDomain)],
        Method = e.Method,
        Rho = e.Rho,
        SweepId = NullIfEmpty(e.SweepId),
        Configuration = NullIfEmpty(e.Configuration),
        WorldSize = e.WorldSize,
        Owner = new RunOwner(e.Owner, e.Project),
    };

    public static ExperimentResults ToDomain(this V1.ExperimentResults r) => new()
    {
        Status = r.Experiment.ToDomain(),
        Summary = [.. r.Summary.Select(ToDomain)],
    };

    public static SweepStatus ToDomain(this V1.Sweep s) => new()
    {
        Id = s.Id,
        Name = NullIfEmpty(s.Name),
        State = s.State.ToDomain(),
        EarlyStopped = s.EarlyStopped,
        CreatedUtc = s.Created?.ToDateTime() ?? default,
        Owner = new RunOwner(s.Owner, s.Project),
        Configurations = [.. s.Configurations.Select(c => new SweepConfigurationStatus
        {
            Index = c.Index,
            Label = c.Label,
            ExperimentId = NullIfEmpty(c.ExperimentId),
            State = c.State.ToDomain(),
            Overrides = [.. c.Overrides.Select(o => new KeyValuePair<string, string>(o.Field, o.Value))],
        })],
    };

    public static SweepResults ToDomain(this V1.SweepResults r) => new()
    {
        Status = r.Sweep.ToDomain(),
        Rows = [.. r.Rows.Select(row => new ConfigurationResult
        {
            Index = row.Index,
            Label = row.Label,
            ExperimentId = NullIfEmpty(row.ExperimentId),
            Metrics = [.. row.Metrics.Select(ToDomain)],
            Seeds = row.Seeds,
            Stopped = row.Stopped,
            Preemptions = row.Preemptions,
            AdapterDirectories = [.. row.AdapterDirectories],
        })],
        Comparisons = [.. r.Comparisons.Select(c => new Comparison
        {
            Metric = c.Metric, LabelA = c.LabelA, LabelB = c.LabelB, MeanA = c.MeanA, MeanB = c.MeanB, T = c.T, DegreesOfFreedom = c.DegreesOfFreedom, P = c.P,
        })],
    };

    public static ProgressEvent ToDomain(this V1.ProgressEvent e) => new()
    {
        ExperimentId = e.ExperimentId,
        Seed = e.Seed,
        Kind = e.Kind == V1.ProgressKind.Unspecified ? ProgressKind.Message : (ProgressKind)((int)e.Kind - 1),
        Step = e.Step,
        TotalSteps = e.TotalSteps,
        State = e.State.ToDomain(),
        Message = NullIfEmpty(e.Message),
        EvalLoss = e.EvalLoss,
        EvalExactMatch = e.EvalExactMatch,
        EvalTokenAccuracy = e.EvalTokenAccuracy,
        TimestampUtc = e.Timestamp?.ToDateTime() ?? DateTime.UtcNow,
        Rank = e.Rank,
        EvalSegmentDrift = e.EvalSegmentDrift,
        EvalHighDriftShare = e.EvalHighDriftShare,
        SegmentDrifts = [.. e.SegmentDrifts],
        EvalSharpness = new Dictionary<string, double>(e.EvalSharpness),
        CheckpointSeconds = e.CheckpointSeconds,
        Figures = e.Figures?.ToDomain(),
    };

    public static RegistryEntry ToDomain(this V1.RunEntry e) =>
        new(e.Id, e.Kind == V1.RunKind.Sweep ? RegistryKind.Sweep : RegistryKind.Experiment, NullIfEmpty(e.Name), e.Created?.ToDateTime() ?? default,
            new RunOwner(e.Owner, e.Project));

    public static ClusterSnapshot ToDomain(this V1.ClusterInfo c) => new(
        [.. c.Devices.Select(d => new DeviceInfo
        {
            Silo = d.Silo,
            Device = d.Name,
            State = d.State == V1.DeviceState.Unspecified ? DeviceState.Down : (DeviceState)((int)d.State - 1),
            RunKey = NullIfEmpty(d.RunKey),
        })],
        [.. c.Queue],
        [.. c.Silos],
        [.. c.Health.Select(h => new SiloHealthReport(h.Silo, h.Status, h.Detail, h.Reported?.ToDateTime() ?? default, [.. h.Warnings]))])
    {
        Waiting = [.. c.Waiting.Select(q => new QueuedRun(q.Position, new DeviceAsk
        {
            RunKey = q.RunKey, User = q.Owner, Project = q.Project, Priority = PriorityClasses.TryParse(q.Priority, out PriorityClass p) ? p : PriorityClass.Normal,
            Count = q.Devices, QueuedUtc = q.Queued?.ToDateTime() ?? default, WaitingSinceUtc = q.WaitingSince?.ToDateTime() ?? default, Preempted = q.Preempted,
        }, q.Why, q.Preempted))],
        Projects = [.. c.Projects.Select(p => new ProjectUsage(p.Project, p.InUse, p.FairShare, p.Guaranteed, p.Max < 0 ? null : p.Max, p.Waiting, p.Weight))],
        Running = [.. c.Running.Select(r => new RunClaim
        {
            Ask = new DeviceAsk
            {
                RunKey = r.RunKey, User = r.Owner, Project = r.Project, Count = r.Devices,
                Priority = PriorityClasses.TryParse(r.Priority, out PriorityClass p) ? p : PriorityClass.Normal,
            },
            Devices = r.Devices, GrantedUtc = r.Granted?.ToDateTime() ?? default, PreemptingSinceUtc = r.Preempting ? r.Granted?.ToDateTime() ?? default : null,
        })],
    };
}
