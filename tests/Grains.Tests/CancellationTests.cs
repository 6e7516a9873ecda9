using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Sweeps;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Tests;

/// <summary>A cancel is a persisted decision: no failure, grant, late start or launch loop may undo it.</summary>
[Collection(ClusterTests.Name)]
public class CancellationTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static TrainSpec Spec(string mode, long[]? seeds = null) => new()
    {
        Training = new TrainingSpec { MaxSteps = 5 },
        Experiment = new ExperimentSection { Name = mode, Seeds = seeds ?? [1], MaxRetries = 2 },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    [Fact]
    public async Task A_retryable_failure_while_cancelling_ends_the_run_cancelled_not_queued_again()
    {
        string id = ClusterWaits.NewId("cancelfail");
        IExperimentGrain experiment = Grains.GetGrain<IExperimentGrain>(id);
        await experiment.SubmitAsync(new ExperimentRequest { Spec = Spec("fail-on-cancel") });
        await ClusterWaits.ExperimentAsync(Grains, id, s => s.Seeds[0].State == RunState.Running && s.Seeds[0].Step > 0, "to run");
        await experiment.CancelAsync();
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Cancelled, final.State);
        Assert.Equal(1, final.Seeds[0].Attempt);
        Assert.All(FakeShardJobRunner.Jobs.Where(j => j.ExperimentId == id), j => Assert.Equal(1, j.Attempt));
    }

    [Fact]
    public async Task A_cancelled_run_keeps_the_step_it_reached_and_its_last_logged_figures()
    {
        string id = ClusterWaits.NewId("cancelsteps");
        IExperimentGrain experiment = Grains.GetGrain<IExperimentGrain>(id);
        TrainSpec spec = Spec("hang");
        await experiment.SubmitAsync(new ExperimentRequest { Spec = spec with { Training = spec.Training with { MaxSteps = 100_000 } } });
        await ClusterWaits.ExperimentAsync(Grains, id, s => s.Seeds[0].Step >= 3, "to reach step 3");
        await experiment.CancelAsync();
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        SeedRunStatus seed = Assert.Single(final.Seeds);
        Assert.Equal(RunState.Cancelled, seed.State);
        RunMetrics metrics = Assert.IsType<RunMetrics>(seed.Metrics);
        Assert.True(metrics.Steps >= 3, $"steps {metrics.Steps}");
        Assert.Equal(seed.Step, metrics.Steps);
        Assert.Equal(1.0 / metrics.Steps, metrics.FinalLoss, 6);   // the fake's loss at its last logged step
        Assert.Null(metrics.AdapterDirectory);
        // Not completed: nothing of it enters the experiment's aggregates.
        Assert.All((await experiment.GetResultsAsync()).Summary, m => Assert.Equal(0, m.Count));
    }

    [Fact]
    public async Task A_start_that_arrives_after_a_cancel_starts_nothing()
    {
        string id = ClusterWaits.NewId("latestart");
        var plan = new SeedRunPlan { ExperimentId = id, Seed = 1, Spec = Spec("hang"), MaxRetries = 2 };
        ISeedRunGrain seed = Grains.GetGrain<ISeedRunGrain>(plan.RunKey);
        await seed.CancelAsync("cancelled before its start arrived");
        // Both calls are one-way, and Orleans does not order one-way messages from a client through two gateways:
        // the start is sent only once the cancel has been taken (CI once saw the start overtake it).
        await ClusterWaits.UntilAsync(seed.GetStatusAsync, s => s.State == RunState.Cancelled, "the cancel taken");
        await seed.StartAsync(plan);
        await Task.Delay(1500);
        SeedRunStatus status = await seed.GetStatusAsync();
        Assert.Equal(RunState.Cancelled, status.State);
        Assert.DoesNotContain(FakeShardJobRunner.Jobs, j => j.RunKey == plan.RunKey);
        ClusterSnapshot inventory = await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync();
        Assert.DoesNotContain(plan.RunKey, inventory.Queue);
        Assert.DoesNotContain(inventory.Devices, d => d.RunKey == plan.RunKey);
    }

    [Fact]
    public async Task A_sweep_cancelled_while_it_launches_launches_nothing_more_and_ends_cancelled()
    {
        string id = ClusterWaits.NewId("sweepcancel");
        var sweep = new SweepSpec
        {
            Name = "cancel while launching",
            Grid = new() { ["lora.rank"] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"] },
            Seeds = [1],
            MaxConcurrent = 12,
        };
        ISweepGrain grain = Grains.GetGrain<ISweepGrain>(id);
        Task<SweepStatus> submit = grain.SubmitAsync(new SweepRequest(sweep, Spec("hang")));
        async Task<int> LaunchedAsync()
        {
            try
            {
                return (await grain.GetStatusAsync()).Configurations.Count(c => c.ExperimentId is not null);
            }
            catch (KeyNotFoundException)
            {
                return 0;   // not stored yet
            }
        }
        await ClusterWaits.UntilAsync(async () => submit.IsCompleted ? 1 : await LaunchedAsync(), launched => launched > 0, "the sweep to start launching");
        await grain.CancelAsync();
        await submit;
        SweepStatus final = await ClusterWaits.UntilAsync(grain.GetStatusAsync, s => s.State.IsFinal(), "the cancelled sweep to end", TimeSpan.FromSeconds(30));
        Assert.Equal(RunState.Cancelled, final.State);
        foreach (SweepConfigurationStatus configuration in final.Configurations.Where(c => c.ExperimentId is not null))
        {
            ExperimentStatus experiment = await ClusterWaits.FinalAsync(Grains, configuration.ExperimentId!);
            Assert.Equal(RunState.Cancelled, experiment.State);
        }
    }

    [Fact]
    public async Task A_retry_start_on_a_device_still_stopping_the_previous_attempt_returns_at_once_and_runs_after_it()
    {
        ClusterSnapshot snapshot = await ClusterWaits.UntilAsync(() => Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(),
            s => s.Devices.Any(d => d.State == DeviceState.Free), "a free device");
        DeviceInfo device = snapshot.Devices.First(d => d.State == DeviceState.Free);
        IShardGrain shard = Grains.GetGrain<IShardGrain>(device.ShardKey);
        string id = ClusterWaits.NewId("slowstop");
        ShardJob Job(int attempt) => new() { RunKey = $"{id}/1", ExperimentId = id, Seed = 1, Attempt = attempt, Spec = Spec("slow-stop") };

        await shard.StartAsync(Job(1));
        await ClusterWaits.UntilAsync(async () => (await shard.GetStatusAsync()).RunKey, key => key == $"{id}/1", "attempt 1 to run");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await shard.StartAsync(Job(2));   // attempt 1 takes 3 s to stop
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"StartAsync took {watch.Elapsed.TotalSeconds:F1} s");
        await ClusterWaits.UntilAsync(() => Task.FromResult(FakeShardJobRunner.Jobs.Count(j => j.RunKey == $"{id}/1")), n => n == 2,
            "attempt 2 to start once attempt 1 stopped");
        await shard.CancelAsync($"{id}/1");
        await ClusterWaits.UntilAsync(async () => (await shard.GetStatusAsync()).RunKey, key => key is null, "the device to be free again");
    }
}
