using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Benchmarks.Cluster;
using FlatLora.Grains.Execution;
using FlatLora.Spec;

namespace FlatLora.Benchmarks.Tests;

public class BenchLedgerTests
{
    [Fact]
    public void A_trial_completed_twice_or_run_on_two_devices_at_once_counts_as_run_twice()
    {
        var ledger = new BenchLedger();
        ledger.Started("a");
        ledger.Ended("a", "s/cpu:0");
        ledger.ReportedCompleted("a");
        ledger.Started("a");   // a retry after a kill, never reported: fine
        ledger.Ended("a", "s/cpu:1");
        ledger.Started("b");
        ledger.Started("b");   // two devices at once
        ledger.Ended("b", "s/cpu:0");
        ledger.Ended("b", "s/cpu:1");
        ledger.Started("c");
        ledger.Ended("c", "s/cpu:0");
        ledger.ReportedCompleted("c");
        ledger.ReportedCompleted("c");

        Assert.Equal(["b", "c"], ledger.RunTwice);
        Assert.Equal(5, ledger.Executions);   // a twice, b twice, c once
    }

    [Fact]
    public void Placement_runs_from_job_end_to_grant_and_scheduling_from_release_to_grant()
    {
        var ledger = new BenchLedger();
        ledger.Started("a");
        ledger.Ended("a", "s/cpu:0");
        Thread.Sleep(30);
        ledger.Released("a");
        ledger.Granted("s/cpu:0");
        ledger.Granted("s/cpu:0");   // a second grant without a job in between is no placement

        Placement placement = Assert.Single(ledger.Placements);
        Assert.InRange(placement.Milliseconds, 25, 5000);
        Assert.InRange(Assert.Single(ledger.SchedulingMs), 0, placement.Milliseconds - 20);
    }

    [Fact]
    public void A_release_that_arrives_after_the_device_was_granted_again_is_no_scheduling_wait()
    {
        var ledger = new BenchLedger();
        ledger.Started("a");
        ledger.Ended("a", "s/cpu:0");
        ledger.DeviceFreed("s/cpu:0");
        ledger.Granted("s/cpu:0");
        ledger.Released("a");   // the seed run's release, late
        Thread.Sleep(30);
        ledger.Started("b");
        ledger.Ended("b", "s/cpu:0");
        ledger.Granted("s/cpu:0");   // no release of b was heard: no scheduling figure, and none measured from a's release
        Assert.Single(ledger.SchedulingMs);
        Assert.Equal(2, ledger.Placements.Count);
    }

    [Fact]
    public void A_killed_silos_devices_give_no_placement()
    {
        var ledger = new BenchLedger();
        ledger.Started("a");
        ledger.Ended("a", "bench-03/cpu:0");
        ledger.Forget("bench-03");
        ledger.Granted("bench-03/cpu:0");
        Assert.Empty(ledger.Placements);
    }

    [Fact]
    public void The_freed_report_is_timed_from_job_end_to_send_and_from_send_to_the_inventory()
    {
        var ledger = new BenchLedger();
        ledger.Started("a");
        ledger.Ended("a", "s/cpu:0");
        Thread.Sleep(20);
        ledger.DeviceFreeSent("s/cpu:0");
        Thread.Sleep(40);
        ledger.DeviceFreed("s/cpu:0");
        ledger.DeviceFreed("s/cpu:0");      // the same report seen twice is timed once
        ledger.DeviceFreeSent("s/cpu:9");   // a device that ran nothing is not timed

        Assert.InRange(Assert.Single(ledger.ReportIssueMs), 15, 1000);
        Assert.InRange(Assert.Single(ledger.ReportTransitMs), 35, 1000);
    }

    [Fact]
    public void A_job_stopped_by_its_silos_death_frees_no_device_and_its_next_grant_is_no_placement()
    {
        var ledger = new BenchLedger();
        using var killed = new CancellationTokenSource();
        var runner = new SimulatedShardJobRunner(ledger, "s", new ClusterBenchmarkOptions { ShortestJob = TimeSpan.FromSeconds(30), LongestJob = TimeSpan.FromSeconds(30) }, killed.Token);
        var job = new ShardJob { RunKey = "e/1", ExperimentId = "e", Spec = new TrainSpec(), Peers = ["s/cpu:0"], Grant = 1 };
        ledger.Forget("s");   // the kill: the ledger forgets the silo first, then its jobs stop
        killed.Cancel();

        ShardOutcome outcome = runner.Run(job, "cpu:0", new SilentReporter(), CancellationToken.None);
        ledger.Granted("s/cpu:0");   // the silo came back and its device was granted: no wait of any run

        Assert.Equal(ShardResult.Cancelled, outcome.Result);
        Assert.Empty(ledger.Placements);
        Assert.Empty(ledger.RunTwice);
        Assert.Equal(1, ledger.Executions);
    }

    [Fact]
    public async Task A_preempted_job_checkpoints_its_last_step_and_resumes_there_while_a_killed_one_redoes_the_steps_since_its_checkpoint()
    {
        var ledger = new BenchLedger();
        // With projects, jobs checkpoint every 5 of their 10 steps and when cancelled. 10 steps of 100 ms.
        var options = new ClusterBenchmarkOptions { Projects = 3, ShortestJob = TimeSpan.FromSeconds(1), LongestJob = TimeSpan.FromSeconds(1), CheckpointTime = TimeSpan.FromMilliseconds(10) };
        var job = new ShardJob { RunKey = "a-00000/1", ExperimentId = "a-00000", Spec = new TrainSpec(), Peers = ["s/cpu:0"], Grant = 1 };

        // A preemption after two steps or more: the job saves its last complete step and says where.
        using var alive = new CancellationTokenSource();
        using var preempt = new CancellationTokenSource();
        Task<ShardOutcome> first = Task.Run(() => new SimulatedShardJobRunner(ledger, "s", options, alive.Token).Run(job, "cpu:0", new SilentReporter(), preempt.Token));
        SpinWait.SpinUntil(() => ledger.HighestStep(job.RunKey) >= 2, TimeSpan.FromSeconds(30));
        preempt.Cancel();
        ShardOutcome preempted = await first;
        int done = ledger.HighestStep(job.RunKey);
        Assert.Equal(ShardResult.Cancelled, preempted.Result);
        Assert.Equal($"sim://a-00000/1/checkpoint-{done:D6}", preempted.LastCheckpoint);

        // The next execution resumes at that step, redoing nothing; its silo dies after step 6, past the checkpoint at 5.
        using var dies = new CancellationTokenSource();
        Task<ShardOutcome> second = Task.Run(() => new SimulatedShardJobRunner(ledger, "s", options, dies.Token).Run(job, "cpu:0", new SilentReporter(), CancellationToken.None));
        SpinWait.SpinUntil(() => ledger.HighestStep(job.RunKey) >= 6, TimeSpan.FromSeconds(30));
        dies.Cancel();
        Assert.Null((await second).LastCheckpoint);   // a dead process says nothing
        Assert.Equal(0, ledger.StepsRedoneAfterPreemption);
        int reached = ledger.HighestStep(job.RunKey);

        // The third starts from step 5: what the dead one did beyond it is done again, and counted against the kill.
        ShardOutcome third = new SimulatedShardJobRunner(ledger, "s", options, CancellationToken.None).Run(job, "cpu:0", new SilentReporter(), CancellationToken.None);
        Assert.Equal(ShardResult.Completed, third.Result);
        Assert.Equal(reached - 5, ledger.StepsRedoneAfterKill);
        Assert.Equal(0, ledger.StepsRedoneAfterPreemption);
        Assert.Equal(3, ledger.Executions);
    }

    [Fact]
    public void Steps_lost_to_a_kill_are_counted_once_even_when_the_next_execution_is_preempted_before_it_gets_that_far()
    {
        var ledger = new BenchLedger();
        Assert.Equal(0, ledger.Resume("r"));
        ledger.Started("r");
        for (int step = 1; step <= 7; step++)
            ledger.StepDone("r", step);
        ledger.Checkpoint("r", 5);
        ledger.Killed("r");   // steps 6 and 7 are lost
        ledger.Ended("r", "s/cpu:0", deviceFree: false);

        Assert.Equal(5, ledger.Resume("r"));
        ledger.Started("r");
        ledger.StepDone("r", 6);
        ledger.Checkpoint("r", 6);   // preempted after step 6: it saves it
        ledger.Ended("r", "s/cpu:0");

        Assert.Equal(6, ledger.Resume("r"));
        Assert.Equal(2, ledger.StepsRedoneAfterKill);
        Assert.Equal(0, ledger.StepsRedoneAfterPreemption);
    }

    private sealed class SilentReporter : IShardReporter
    {
        public void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint) { }
        public void Heartbeat(ShardJob job) { }
        public void Finished(ShardJob job, ShardOutcome outcome) { }
    }
}
