using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

[Collection(ClusterTests.Name)]
public class ExperimentLifecycleTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static TrainSpec Spec(string mode = "", long[]? seeds = null, int steps = 5, string method = "lora", int retries = 2) => new()
    {
        Method = new MethodSpec { Name = method },
        Training = new TrainingSpec { MaxSteps = steps },
        Experiment = new ExperimentSection { Name = mode, Seeds = seeds ?? [1, 2, 3], MaxRetries = retries },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    [Fact]
    public async Task A_runner_that_crashes_fails_its_run_with_one_line_and_no_stack_trace()
    {
        string id = ClusterWaits.NewId("crash");
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = Spec("crash", seeds: [1]) });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Failed, final.State);
        string error = Assert.Single(final.Seeds).Error!;
        Assert.Contains("the scripted runner crashed", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("\n", error);
    }

    [Fact]
    public async Task An_experiment_goes_from_queued_through_running_to_completed_with_results_per_seed()
    {
        string id = ClusterWaits.NewId("exp");
        IExperimentGrain experiment = Grains.GetGrain<IExperimentGrain>(id);
        ExperimentStatus submitted = await experiment.SubmitAsync(new ExperimentRequest { Spec = Spec(steps: 8) });
        Assert.Equal(RunState.Queued, submitted.State);
        Assert.Equal([1L, 2L, 3L], submitted.Seeds.Select(s => s.Seed));

        var states = new List<RunState>();
        await foreach (ProgressEvent e in ProgressWatch.ExperimentAsync(fixture.Cluster.Client, id))
        {
            if (e.Seed == -1)
                states.Add(e.State);
        }
        Assert.Equal(RunState.Completed, states[^1]);
        Assert.Contains(RunState.Running, states);

        ExperimentResults results = await experiment.GetResultsAsync();
        Assert.All(results.Status.Seeds, s => Assert.Equal(RunState.Completed, s.State));
        Assert.All(results.Status.Seeds, s => Assert.Equal(8, s.Step));
        MetricSummary exact = results.Summary.Single(m => m.Metric == "eval_exact_match");
        double[] expected = [.. new long[] { 1, 2, 3 }.Select(s => FakeShardJobRunner.ExactMatch(s, "lora"))];
        Assert.Equal(expected.Average(), exact.Mean, 12);
        Assert.Equal(Math.Sqrt(expected.Sum(v => Math.Pow(v - expected.Average(), 2)) / 2), exact.Std, 12);
        Assert.Equal(3, exact.Count);
        Assert.Contains(id, (await Grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync()).Select(e => e.Id));
    }

    [Fact]
    public async Task A_large_submission_starts_its_seeds_a_few_at_a_time_and_every_seed_still_queues()
    {
        // 3 × 64 seeds at once: each start activates a seed run, persists it and queues it. Started all together they
        // flood the thread pool that carries every device's report; through each silo's gate at most 2 run at a time
        // per silo that hosts a starting experiment (this cluster has 2 silos).
        string[] ids = [.. Enumerable.Range(0, 3).Select(_ => ClusterWaits.NewId("burst"))];
        ClusterFixture.ResetSeedStartCount();
        await Task.WhenAll(ids.Select(id => Grains.GetGrain<IExperimentGrain>(id)
            .SubmitAsync(new ExperimentRequest { Spec = Spec(seeds: [.. Enumerable.Range(1, 64).Select(s => (long)s)], steps: 1) })));

        foreach (string id in ids)
            await ClusterWaits.ExperimentAsync(Grains, id, s => s.Seeds.All(seed => seed.State != RunState.Pending), "to have every seed answer its start");
        int most = ClusterFixture.MostSeedStartsInFlight;
        await Task.WhenAll(ids.Select(id => Grains.GetGrain<IExperimentGrain>(id).CancelAsync()));
        foreach (string id in ids)
            Assert.True((await ClusterWaits.FinalAsync(Grains, id)).State.IsFinal());

        Assert.InRange(most, 1, 2 * 2);
    }

    [Fact]
    public async Task A_seed_whose_start_failed_during_submit_is_started_again_and_the_experiment_completes()
    {
        string id = ClusterWaits.NewId("startfail");
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = Spec("start-fails-once", seeds: [1, 2]) });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Completed, final.State);
        Assert.All(final.Seeds, s => Assert.Equal(RunState.Completed, s.State));
    }

    [Fact]
    public async Task An_invalid_spec_is_refused_naming_fields_and_nothing_is_stored()
    {
        string id = ClusterWaits.NewId("bad");
        TrainSpec bad = Spec() with { Lora = new LoraSpec { Rank = 0 }, Optimizer = new OptimizerSpec { Lr = -1 } };
        var error = await Assert.ThrowsAsync<FlatLora.Abstractions.SpecRejectedException>(() => Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = bad }));
        Assert.Equal(2, error.Errors.Count);
        Assert.Contains("lora.rank", error.Message);
        Assert.Contains("optimizer.lr", error.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => Grains.GetGrain<IExperimentGrain>(id).GetStatusAsync());
        Assert.DoesNotContain(id, (await Grains.GetGrain<IExperimentRegistryGrain>(0).ListAsync()).Select(e => e.Id));
    }

    [Fact]
    public async Task Cancelling_stops_running_and_queued_seeds_and_frees_the_devices()
    {
        string id = ClusterWaits.NewId("cancel");
        IExperimentGrain experiment = Grains.GetGrain<IExperimentGrain>(id);
        await experiment.SubmitAsync(new ExperimentRequest { Spec = Spec("hang") });
        // Two devices: two seeds run, the third waits in the queue.
        await ClusterWaits.ExperimentAsync(Grains, id, s => s.Seeds.Count(x => x.State == RunState.Running) == 2
            && s.Seeds.Count(x => x.State == RunState.Queued) == 1, "two seeds running and the third queued");
        ClusterSnapshot busy = await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync();
        Assert.Contains($"{id}/3", busy.Queue.Concat(busy.Devices.Select(d => d.RunKey ?? "")));
        Assert.Single(busy.Queue, q => q.StartsWith(id, StringComparison.Ordinal));

        await experiment.CancelAsync();
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Cancelled, final.State);
        Assert.All(final.Seeds, s => Assert.Equal(RunState.Cancelled, s.State));
        await ClusterWaits.UntilAsync(() => Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(),
            s => s.Devices.All(d => d.State == DeviceState.Free) && s.Queue.Count == 0, "all devices free");
    }

    [Fact]
    public async Task Queued_seeds_start_as_soon_as_a_device_frees_up()
    {
        string hang = ClusterWaits.NewId("hold");
        await Grains.GetGrain<IExperimentGrain>(hang).SubmitAsync(new ExperimentRequest { Spec = Spec("hang", [7, 8]) });
        await ClusterWaits.ExperimentAsync(Grains, hang, s => s.Seeds.All(x => x.State == RunState.Running), "holding both devices");

        string waiting = ClusterWaits.NewId("wait");
        await Grains.GetGrain<IExperimentGrain>(waiting).SubmitAsync(new ExperimentRequest { Spec = Spec(seeds: [1]) });
        // Its seed starts one-way and queues behind the held devices.
        await ClusterWaits.UntilAsync(() => Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync(), s => s.Queue.Contains($"{waiting}/1"), "the seed to queue");
        await Task.Delay(500);
        Assert.Equal(RunState.Queued, (await Grains.GetGrain<IExperimentGrain>(waiting).GetStatusAsync()).State);
        Assert.Contains($"{waiting}/1", (await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync()).Queue);

        await Grains.GetGrain<IExperimentGrain>(hang).CancelAsync();
        Assert.Equal(RunState.Completed, (await ClusterWaits.FinalAsync(Grains, waiting)).State);
    }

    [Fact]
    public async Task A_retryable_failure_resumes_on_a_new_attempt_and_a_fatal_one_fails_the_experiment()
    {
        string flaky = ClusterWaits.NewId("flaky");
        await Grains.GetGrain<IExperimentGrain>(flaky).SubmitAsync(new ExperimentRequest { Spec = Spec("flaky", [1]) });
        ExperimentStatus recovered = await ClusterWaits.FinalAsync(Grains, flaky);
        Assert.Equal(RunState.Completed, recovered.State);
        Assert.Equal(2, recovered.Seeds[0].Attempt);

        string fatal = ClusterWaits.NewId("fatal");
        await Grains.GetGrain<IExperimentGrain>(fatal).SubmitAsync(new ExperimentRequest { Spec = Spec("fail", [1]) });
        ExperimentStatus failed = await ClusterWaits.FinalAsync(Grains, fatal);
        Assert.Equal(RunState.Failed, failed.State);
        Assert.Equal(1, failed.Seeds[0].Attempt);
        Assert.Contains("NaN", failed.Error);
    }

    [Fact]
    public async Task Shard_grains_live_on_the_silo_named_in_their_key()
    {
        ClusterSnapshot snapshot = await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync();
        Assert.Equal(2, snapshot.Silos.Count);
        foreach (DeviceInfo device in snapshot.Devices)
        {
            ShardStatus status = await Grains.GetGrain<IShardGrain>(device.ShardKey).GetStatusAsync();
            Assert.Equal(device.Silo, status.HostSilo);
        }
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Grains.GetGrain<IShardGrain>("no-such-silo/cpu:0").GetStatusAsync());
        Assert.Contains("no-such-silo", error.Message);
    }
}
