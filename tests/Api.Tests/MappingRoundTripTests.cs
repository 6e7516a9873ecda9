using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Scheduling;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Api.Mapping;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;

namespace FlatLora.Api.Tests;

/// <summary>Every field of the cluster's records survives the public API's messages both ways (what the CLI renders is what the cluster holds).</summary>
public class MappingRoundTripTests
{
    private static string Json<T>(T value) => SpecJson.Serialize(value);

    private static readonly DateTime T0 = new(2026, 12, 7, 15, 30, 12, DateTimeKind.Utc);

    private static SeedRunStatus Seed(long seed) => new()
    {
        Seed = seed,
        State = RunState.Cancelled,
        Step = 1219,
        TotalSteps = 5000,
        Attempt = 7,
        UnroutedStarts = 5,
        Preemptions = 2,
        Devices = ["silo-a/cuda:0", "silo-b/cuda:1"],
        LastCheckpoint = "/runs/x/checkpoints/step-001200",
        Error = "cancelled by alice",
        OutputDirectory = "/runs/x",
        Latest = new StepFigures { Step = 1218, TotalSteps = 5000, Loss = 0.25, LearningRate = 1e-4, Sigma = 0.01, GradNorm = 1.5, Tokens = 4096, Samples = 8,
            StepSeconds = 0.4, TokensPerSecond = 10_240, EtaSeconds = 1500, ExchangeBytes = 1 << 20, ExchangeSeconds = 0.01, DriftPenalty = 0.5, NormPenalty = null },
        Metrics = new RunMetrics { Steps = 1219, FinalLoss = 0.25, AdapterDirectory = "/runs/x/adapter", FrozenWeightsUnchanged = true,
            Sharpness = new() { ["sharpness@0.05"] = 0.0112 } },
        Version = 42,
    };

    [Fact]
    public void An_experiments_results_come_back_field_for_field()
    {
        var results = new ExperimentResults
        {
            Status = new ExperimentStatus
            {
                Id = "exp-1", Name = "tiny", State = RunState.Running, CreatedUtc = T0, StartedUtc = T0.AddSeconds(3), FinishedUtc = null, Error = null,
                Seeds = [Seed(1), Seed(2)], Method = "flat", Rho = 0.05, SweepId = "sweep-1", Configuration = "method.name=flat", WorldSize = 2,
                Owner = new RunOwner("alice", "nlp"),
            },
            Summary = [new MetricSummary("eval_loss", 1.5, 0.1, 3)],
        };
        Assert.Equal(Json(results), Json(results.ToProto().ToDomain()));
    }

    [Fact]
    public void A_sweeps_results_come_back_field_for_field()
    {
        var results = new SweepResults
        {
            Status = new SweepStatus
            {
                Id = "sweep-1", Name = "demo", State = RunState.Completed, EarlyStopped = 2, CreatedUtc = T0, Owner = new RunOwner("bob", "vision"),
                Configurations = [new SweepConfigurationStatus { Index = 0, Label = "lr=0.1", ExperimentId = "exp-2", State = RunState.Stopped, Overrides = [new("optimizer.lr", "0.1")] }],
            },
            Rows = [new ConfigurationResult { Index = 0, Label = "lr=0.1", ExperimentId = "exp-2", Metrics = [new MetricSummary("final_loss", 0.5, 0.01, 2)], Seeds = 2, Stopped = 1,
                AdapterDirectories = ["/runs/a"] }],
            Comparisons = [new Comparison { Metric = "eval_loss", LabelA = "lora", LabelB = "flat", MeanA = 1, MeanB = 0.9, T = -2.1, DegreesOfFreedom = 3.7, P = 0.04 }],
        };
        Assert.Equal(Json(results), Json(results.ToProto().ToDomain()));
    }

    [Fact]
    public void Progress_events_registry_entries_and_the_cluster_come_back_field_for_field()
    {
        var e = new ProgressEvent
        {
            ExperimentId = "exp-1", Seed = 3, Kind = ProgressKind.Eval, Step = 10, TotalSteps = 100, State = RunState.Running, Message = "eval",
            EvalLoss = 1.2, EvalExactMatch = 0.5, EvalTokenAccuracy = 0.8, TimestampUtc = T0, Rank = 1, EvalSegmentDrift = 0.3, EvalHighDriftShare = 0.1,
            SegmentDrifts = [0.1, 0.2], EvalSharpness = new() { ["sharpness@0.05"] = 0.01 }, CheckpointSeconds = 1.5, Figures = Seed(1).Latest,
        };
        Assert.Equal(Json(e), Json(e.ToProto().ToDomain()));
        var entry = new RegistryEntry("exp-1", RegistryKind.Sweep, "n", T0, new RunOwner("alice", "nlp"));
        Assert.Equal(entry, entry.ToProto().ToDomain());
        var snapshot = new ClusterSnapshot(
            [new DeviceInfo { Silo = "a", Device = "cpu:0", State = DeviceState.Busy, RunKey = "exp-1/1" }, new DeviceInfo { Silo = "b", Device = "cuda:0", State = DeviceState.Down }],
            ["exp-2/1"], ["a", "b"], [new SiloHealthReport("a", "degraded", "lost", T0, ["no cluster key"])])
        {
            Waiting = [new QueuedRun(1, new DeviceAsk
            {
                RunKey = "exp-2/1", Count = 2, User = "bob", Project = "nlp", Priority = PriorityClass.High, QueuedUtc = T0, WaitingSinceUtc = T0.AddSeconds(5), Preempted = true,
            }, "project nlp at its max 8/8", Preempted: true)],
            Projects = [new ProjectUsage("nlp", 3, 2.5, 1, 8, 1, 2), new ProjectUsage("vision", 0, 0, 0, null, 0, 1)],
        };
        ClusterSnapshot back = snapshot.ToProto().ToDomain();
        Assert.Equal(Json(snapshot.Waiting), Json(back.Waiting));
        Assert.Equal(snapshot.Projects, back.Projects);
        Assert.Equal(snapshot.Devices, back.Devices);
        Assert.Equal(snapshot.Queue, back.Queue);
        Assert.Equal(snapshot.Silos, back.Silos);
        Assert.Equal(Json(snapshot.Health), Json(back.Health));
    }
}
