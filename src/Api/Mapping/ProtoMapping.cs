using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;
using Google.Protobuf.WellKnownTypes;

namespace FlatLora.Api.Mapping;

/// <summary>The cluster's records as the public API's messages (what a silo sends). <see cref="DomainMapping"/> is the way back.</summary>
public static class ProtoMapping
{
    public static V1.RunState ToProto(this RunState state) => (V1.RunState)((int)state + 1);

    public static Timestamp? ToProto(this DateTime? utc) => utc is DateTime value ? value.ToProto() : null;

    public static Timestamp ToProto(this DateTime utc) => Timestamp.FromDateTime(DateTime.SpecifyKind(utc, DateTimeKind.Utc));

    public static V1.RunMetrics ToProto(this RunMetrics m)
    {
        var proto = new V1.RunMetrics
        {
            Steps = m.Steps,
            InitialLoss = m.InitialLoss,
            FinalLoss = m.FinalLoss,
            EvalLoss = m.EvalLoss,
            EvalExactMatch = m.EvalExactMatch,
            EvalTokenAccuracy = m.EvalTokenAccuracy,
            TokensPerSecond = m.TokensPerSecond,
            ElapsedSeconds = m.ElapsedSeconds,
            AdapterDirectory = m.AdapterDirectory ?? "",
            EvalSegmentDrift = m.EvalSegmentDrift,
            EvalHighDriftShare = m.EvalHighDriftShare,
        };
        if (m.FrozenWeightsUnchanged is bool unchanged)
            proto.FrozenWeightsUnchanged = unchanged;
        proto.Sharpness.Add(m.Sharpness);
        return proto;
    }

    public static V1.StepFigures ToProto(this StepFigures f)
    {
        var proto = new V1.StepFigures
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
        };
        if (f.DriftPenalty is double drift)
            proto.DriftPenalty = drift;
        if (f.NormPenalty is double norm)
            proto.NormPenalty = norm;
        return proto;
    }

    public static V1.MetricSummary ToProto(this MetricSummary s) => new() { Metric = s.Metric, Mean = s.Mean, Std = s.Std, Count = s.Count };

    public static V1.SeedRun ToProto(this SeedRunStatus s)
    {
        var proto = new V1.SeedRun
        {
            Seed = s.Seed,
            State = s.State.ToProto(),
            Step = s.Step,
            TotalSteps = s.TotalSteps,
            Attempt = s.Attempt,
            UnroutedStarts = s.UnroutedStarts,
            Preemptions = s.Preemptions,
            LastCheckpoint = s.LastCheckpoint ?? "",
            Error = s.Error ?? "",
            OutputDirectory = s.OutputDirectory ?? "",
            Latest = s.Latest?.ToProto(),
            Metrics = s.Metrics?.ToProto(),
            Version = s.Version,
        };
        proto.Devices.Add(s.Devices);
        return proto;
    }

    public static V1.Experiment ToProto(this ExperimentStatus s)
    {
        var proto = new V1.Experiment
        {
            Id = s.Id,
            Name = s.Name ?? "",
            State = s.State.ToProto(),
            Created = s.CreatedUtc.ToProto(),
            Started = s.StartedUtc.ToProto(),
            Finished = s.FinishedUtc.ToProto(),
            Error = s.Error ?? "",
            Method = s.Method,
            Rho = s.Rho,
            SweepId = s.SweepId ?? "",
            Configuration = s.Configuration ?? "",
            WorldSize = s.WorldSize,
            Owner = s.Owner.User,
            Project = s.Owner.Project,
        };
        proto.Seeds.Add(s.Seeds.Select(ToProto));
        return proto;
    }

    public static V1.ExperimentResults ToProto(this ExperimentResults r)
    {
        var proto = new V1.ExperimentResults { Experiment = r.Status.ToProto() };
        proto.Summary.Add(r.Summary.Select(ToProto));
        return proto;
    }

    public static V1.Sweep ToProto(this SweepStatus s)
    {
        var proto = new V1.Sweep
        {
            Id = s.Id,
            Name = s.Name ?? "",
            State = s.State.ToProto(),
            EarlyStopped = s.EarlyStopped,
            Created = s.CreatedUtc.ToProto(),
            Owner = s.Owner.User,
            Project = s.Owner.Project,
        };
        foreach (SweepConfigurationStatus c in s.Configurations)
        {
            var configuration = new V1.SweepConfiguration { Index = c.Index, Label = c.Label, ExperimentId = c.ExperimentId ?? "", State = c.State.ToProto() };
            configuration.Overrides.Add(c.Overrides.Select(o => new V1.Override { Field = o.Key, Value = o.Value }));
            proto.Configurations.Add(configuration);
        }
        return proto;
    }

    public static V1.SweepResults ToProto(this SweepResults r)
    {
        var proto = new V1.SweepResults { Sweep = r.Status.ToProto() };
        foreach (ConfigurationResult row in r.Rows)
        {
            var result = new V1.ConfigurationResult { Index = row.Index, Label = row.Label, ExperimentId = row.ExperimentId ?? "", Seeds = row.Seeds, Stopped = row.Stopped, Preemptions = row.Preemptions };
            result.Metrics.Add(row.Metrics.Select(ToProto));
            result.AdapterDirectories.Add(row.AdapterDirectories);
            proto.Rows.Add(result);
        }
        proto.Comparisons.Add(r.Comparisons.Select(c => new V1.Comparison
        {
            Metric = c.Metric, LabelA = c.LabelA, LabelB = c.LabelB, MeanA = c.MeanA, MeanB = c.MeanB, T = c.T, DegreesOfFreedom = c.DegreesOfFreedom, P = c.P,
        }));
        return proto;
    }

    public static V1.ProgressEvent ToProto(this ProgressEvent e)
    {
        var proto = new V1.ProgressEvent
        {
            ExperimentId = e.ExperimentId,
            Seed = e.Seed,
            Kind = (V1.ProgressKind)((int)e.Kind + 1),
            Step = e.Step,
            TotalSteps = e.TotalSteps,
            State = e.State.ToProto(),
            Message = e.Message ?? "",
            EvalLoss = e.EvalLoss,
            EvalExactMatch = e.EvalExactMatch,
            EvalTokenAccuracy = e.EvalTokenAccuracy,
            Timestamp = e.TimestampUtc.ToProto(),
            Rank = e.Rank,
            EvalSegmentDrift = e.EvalSegmentDrift,
            EvalHighDriftShare = e.EvalHighDriftShare,
            CheckpointSeconds = e.CheckpointSeconds,
            Figures = e.Figures?.ToProto(),
        };
        proto.SegmentDrifts.Add(e.SegmentDrifts);
        proto.EvalSharpness.Add(e.EvalSharpness);
        return proto;
    }

    public static V1.RunEntry ToProto(this RegistryEntry e) => new()
    {
        Id = e.Id,
        Kind = e.Kind == RegistryKind.Sweep ? V1.RunKind.Sweep : V1.RunKind.Experiment,
        Name = e.Name ?? "",
        Created = e.CreatedUtc.ToProto(),
        Owner = e.OwnedBy.User,
        Project = e.OwnedBy.Project,
    };

    public static V1.ClusterInfo ToProto(this ClusterSnapshot s)
    {
        var proto = new V1.ClusterInfo { ApiVersion = "v1" };
        proto.Devices.Add(s.Devices.Select(d => new V1.Device
        {
            Silo = d.Silo, Name = d.Device, State = (V1.DeviceState)((int)d.State + 1), RunKey = d.RunKey ?? "",
        }));
        proto.Queue.Add(s.Queue);
        proto.Silos.Add(s.Silos);
        foreach (SiloHealthReport h in s.Health)
        {
            var health = new V1.SiloHealth { Silo = h.Silo, Status = h.Status, Detail = h.Detail, Reported = h.ReportedUtc.ToProto() };
            health.Warnings.Add(h.Warnings ?? []);
            proto.Health.Add(health);
        }
        proto.Waiting.Add(s.Waiting.Select(q => new V1.QueuedRun
        {
            Position = q.Position, RunKey = q.Ask.RunKey, Owner = q.Ask.User, Project = q.Ask.Project, Priority = q.Ask.Priority.Name(),
            Devices = q.Ask.Count, Queued = q.Ask.QueuedUtc.ToProto(), WaitingSince = q.Ask.WaitingSinceUtc.ToProto(), Why = q.Why, Preempted = q.Preempted,
        }));
        proto.Projects.Add(s.Projects.Select(p => new V1.ProjectUsage
        {
            Project = p.Project, InUse = p.InUse, FairShare = p.FairShare, Guaranteed = p.Guaranteed, Max = p.Max ?? -1, Waiting = p.Waiting, Weight = p.Weight,
        }));
        proto.Running.Add(s.Running.Select(r => new V1.RunningRun
        {
            RunKey = r.Ask.RunKey, Owner = r.Ask.User, Project = r.Ask.Project, Priority = r.Ask.Priority.Name(), Devices = r.Devices,
            Granted = r.GrantedUtc.ToProto(), Preempting = r.PreemptingSinceUtc is not null,
        }));
        return proto;
    }
}
