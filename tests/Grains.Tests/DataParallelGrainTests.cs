using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

/// <summary>What seed runs hand to the ranks of a data-parallel run, and how they regroup when devices are lost.</summary>
[Collection(ClusterTests.Name)]
public class DataParallelGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    private static TrainSpec Spec(string mode, int minWorldSize = 1) => new()
    {
        Training = new TrainingSpec { MaxSteps = 5, BatchSize = 8, MicroBatchSize = 4 },
        Experiment = new ExperimentSection { Name = mode, Seeds = [1], WorldSize = 2, MinWorldSize = minWorldSize, MaxRetries = 2 },
        OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-grain-tests"),
    };

    private static List<ShardJob> JobsOf(string experiment) => FakeShardJobRunner.Jobs.Where(j => j.ExperimentId == experiment).ToList();

    [Fact]
    public async Task Ranks_share_peers_and_a_per_attempt_secret_and_a_retry_resumes_every_rank_from_one_checkpoint()
    {
        string id = ClusterWaits.NewId("dp");
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = Spec("flaky") });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Completed, final.State);
        Assert.Equal(2, final.Seeds[0].Devices.Count);

        var attempts = JobsOf(id).GroupBy(j => j.Attempt).OrderBy(g => g.Key).ToList();
        Assert.Equal([1, 2], attempts.Select(a => a.Key));
        foreach (var attempt in attempts)
        {
            Assert.Equal([0, 1], attempt.Select(j => j.Rank).Order());
            Assert.All(attempt, j => Assert.Equal(2, j.WorldSize));
            Assert.Single(attempt.Select(j => Convert.ToHexString(j.Secret)).Distinct());
            Assert.Equal(32, attempt.First().Secret.Length);
            Assert.Single(attempt.Select(j => string.Join(",", j.Peers)).Distinct());
            Assert.Equal(2, attempt.First().Peers.Distinct().Count());
            Assert.Equal(2, attempt.First().PeerEndpoints.Count);
        }
        Assert.NotEqual(Convert.ToHexString(attempts[0].First().Secret), Convert.ToHexString(attempts[1].First().Secret));
        Assert.All(attempts[0], j => Assert.Null(j.ResumeCheckpoint));
        // The scripted runner reported this checkpoint: both ranks of the retry start from it.
        Assert.All(attempts[1], j => Assert.EndsWith("checkpoints/step-000001", j.ResumeCheckpoint));
    }

    [Fact]
    public async Task Without_a_replacement_a_run_shrinks_to_the_healthy_devices_unless_min_world_size_forbids_it()
    {
        IClusterInventoryGrain inventory = Grains.GetGrain<IClusterInventoryGrain>(0);
        await ClusterWaits.DevicesAsync(Grains, 2);
        string lost = (await inventory.GetSnapshotAsync()).Devices[0].ShardKey;
        await inventory.ReportDeviceLostAsync(lost, TimeSpan.FromSeconds(4));

        string shrinks = ClusterWaits.NewId("shrink");
        await Grains.GetGrain<IExperimentGrain>(shrinks).SubmitAsync(new ExperimentRequest { Spec = Spec("") });
        ExperimentStatus shrunk = await ClusterWaits.FinalAsync(Grains, shrinks);
        Assert.Equal(RunState.Completed, shrunk.State);
        Assert.DoesNotContain(lost, Assert.Single(shrunk.Seeds[0].Devices));
        Assert.All(JobsOf(shrinks), j => Assert.Equal(1, j.WorldSize));

        // min_world_size 2 waits for the quarantined device to come back, then runs on both.
        string waits = ClusterWaits.NewId("waits");
        await Grains.GetGrain<IExperimentGrain>(waits).SubmitAsync(new ExperimentRequest { Spec = Spec("", minWorldSize: 2) });
        // The seed starts one-way: wait until it has asked for its devices, then it must stay queued, not shrink.
        await ClusterWaits.ExperimentAsync(Grains, waits, s => s.Seeds[0].State != RunState.Pending, "the seed to queue");
        await Task.Delay(500);
        ExperimentStatus queued = await Grains.GetGrain<IExperimentGrain>(waits).GetStatusAsync();
        Assert.Equal(RunState.Queued, queued.Seeds[0].State);
        ExperimentStatus waited = await ClusterWaits.UntilAsync(() => Grains.GetGrain<IExperimentGrain>(waits).GetStatusAsync(), s => s.State.IsFinal(),
            "the run to wait for the quarantine and finish", TimeSpan.FromSeconds(30));
        Assert.Equal(RunState.Completed, waited.State);
        Assert.Contains(lost, waited.Seeds[0].Devices);
    }

    [Fact]
    public async Task A_rank_that_finished_is_not_silent_while_rank_0_writes_the_final_checkpoint()
    {
        // Rank 1 ends with its last step; rank 0 then evaluates and checkpoints for longer than the heartbeat timeout.
        string id = ClusterWaits.NewId("tail");
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = Spec("slow-tail") });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.True(final.State == RunState.Completed, $"ended {final.State}: {final.Error}");
        Assert.Equal(1, final.Seeds[0].Attempt);
        Assert.All(JobsOf(id), j => Assert.Equal(1, j.Attempt));
    }

    [Fact]
    public async Task Ranks_that_fall_silent_on_healthy_devices_are_retried_on_those_devices_not_quarantined()
    {
        // Both ranks end at step 2 of attempt 1 and their outcomes are lost: the seed run only sees silence. The shards
        // still answer, so neither device is lost and attempt 2 runs at full width instead of shrinking or waiting.
        string id = ClusterWaits.NewId("silent");
        await Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = Spec("lost-outcome", minWorldSize: 1) });
        ExperimentStatus final = await ClusterWaits.FinalAsync(Grains, id);
        Assert.Equal(RunState.Completed, final.State);
        Assert.Equal(2, final.Seeds[0].Attempt);
        Assert.Equal(2, final.Seeds[0].Devices.Count);
        Assert.All(JobsOf(id).Where(j => j.Attempt == 2), j => Assert.Equal(2, j.WorldSize));
        ClusterSnapshot cluster = await Grains.GetGrain<IClusterInventoryGrain>(0).GetSnapshotAsync();
        Assert.DoesNotContain(cluster.Devices, d => d.State == DeviceState.Down);
    }
}
