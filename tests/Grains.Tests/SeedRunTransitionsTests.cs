using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Grains.Experiments;
using FlatLora.Spec;
using FlatLora.Spec.Reporting;

namespace FlatLora.Grains.Tests;

public class SeedRunTransitionsTests
{
    private static readonly DateTime T0 = new(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);

    private static SeedRunGrainState Running(int attempt = 1, int maxRetries = 2, int unrouted = 0)
    {
        var s = new SeedRunGrainState { UnroutedAttempts = unrouted };
        SeedRunTransitions.Queue(s, new SeedRunPlan { ExperimentId = "e", Seed = 1, Spec = new TrainSpec(), MaxRetries = maxRetries }, T0);
        for (int i = 0; i < attempt; i++)
            SeedRunTransitions.BeginAttempt(s, [new DeviceInfo { Silo = "a", Device = "cpu:0" }], T0.AddSeconds(i));
        return s;
    }

    [Fact]
    public void Each_attempt_counts_gets_its_devices_and_keeps_the_first_start_time()
    {
        SeedRunGrainState s = Running(attempt: 2);
        Assert.Equal(2, s.Attempt);
        Assert.Equal(RunState.Running, s.State);
        Assert.Equal(T0, s.StartedUtc);
        Assert.Equal(["a/cpu:0"], s.Devices.Select(d => d.ShardKey));
        Assert.Null(s.Error);
    }

    [Fact]
    public void A_retryable_failure_requeues_until_max_retries_then_fails_naming_the_attempts()
    {
        // max_retries 2: the first attempt and two retries.
        Assert.True(SeedRunTransitions.Decide(Running(attempt: 2, maxRetries: 2), retryable: true, "lost").Requeue);
        AttemptEnd end = SeedRunTransitions.Decide(Running(attempt: 3, maxRetries: 2), retryable: true, "lost");
        Assert.False(end.Requeue);
        Assert.Equal(RunState.Failed, end.Final);
        Assert.Equal("lost (after 3 attempt(s))", end.Error);
        // Attempts that never reached a shard are not counted against max_retries.
        Assert.True(SeedRunTransitions.Decide(Running(attempt: 3, maxRetries: 2, unrouted: 1), retryable: true, "lost").Requeue);
    }

    [Fact]
    public void A_run_that_fails_counts_the_attempts_that_reached_their_shards_and_names_the_unrouted_start_tries_apart()
    {
        // Killed at step 10: five start tries went nowhere until the dead silo was declared dead, then one more attempt.
        AttemptEnd end = SeedRunTransitions.Decide(Running(attempt: 7, maxRetries: 1, unrouted: 5), retryable: true, "lost");
        Assert.Equal("lost (after 2 attempt(s); 5 start tries never reached a shard)", end.Error);
        SeedRunGrainState s = Running(attempt: 7, unrouted: 5);
        Assert.Equal(2, SeedRunTransitions.TrainedAttempts(s));
    }

    [Fact]
    public void A_failure_that_cannot_be_retried_fails_at_once_with_its_own_message()
    {
        AttemptEnd end = SeedRunTransitions.Decide(Running(), retryable: false, "NaN loss");
        Assert.Equal((false, RunState.Failed, "NaN loss"), (end.Requeue, end.Final, end.Error));
    }

    [Fact]
    public void A_cancel_wins_over_any_failure_and_a_sweeps_stop_ends_as_stopped()
    {
        SeedRunGrainState cancelled = Running();
        cancelled.CancelRequested = true;
        cancelled.Error = "cancelled by user";
        Assert.Equal(new AttemptEnd(false, RunState.Cancelled, "cancelled by user"), SeedRunTransitions.Decide(cancelled, retryable: true, "lost"));
        cancelled.StopRequested = true;
        Assert.Equal(RunState.Stopped, SeedRunTransitions.Decide(cancelled, retryable: false, "NaN").Final);
    }

    [Fact]
    public void A_requeued_run_owes_a_release_and_says_where_it_resumes()
    {
        SeedRunGrainState s = Running();
        s.LastCheckpoint = "runs/step-000040";
        SeedRunTransitions.Requeue(s, "rank 1 silent", T0.AddMinutes(1));
        Assert.Equal(RunState.Queued, s.State);
        Assert.Equal(T0.AddMinutes(1), s.QueuedUtc);
        Assert.Empty(s.Devices);
        Assert.True(s.ReleasePending);
        Assert.Equal("attempt 1 failed: rank 1 silent; resuming from runs/step-000040", s.Error);
    }

    [Fact]
    public void A_finished_run_owes_its_end_and_rank_zeros_outcome_sets_its_figures()
    {
        SeedRunGrainState s = Running();
        SeedRunTransitions.RecordOutcome(s, new ShardOutcome { Device = "cpu:1", Rank = 1, LastCheckpoint = "runs/step-000010", Metrics = new RunMetrics { Steps = 99 } });
        Assert.Equal("runs/step-000010", s.LastCheckpoint);
        Assert.Null(s.Metrics);   // only rank 0 speaks for the run
        SeedRunTransitions.RecordOutcome(s, new ShardOutcome { Device = "cpu:0", Rank = 0, Metrics = new RunMetrics { Steps = 12 } });
        Assert.Equal((12L, 12L), (s.Step, s.TotalSteps));

        SeedRunTransitions.Finish(s, RunState.Completed, null, T0.AddHours(1));
        Assert.Equal((RunState.Completed, T0.AddHours(1), true), (s.State, s.FinishedUtc, s.EndPending));
    }

    [Fact]
    public void Checkpoints_compare_by_step()
    {
        var s = new SeedRunGrainState { LastCheckpoint = "runs/step-000040" };
        Assert.True(SeedRunTransitions.IsNewer(s, "runs/step-000080"));
        Assert.False(SeedRunTransitions.IsNewer(s, "runs/step-000008"));
        Assert.False(SeedRunTransitions.IsNewer(s, null));
        Assert.True(SeedRunTransitions.IsNewer(new SeedRunGrainState(), "runs/step-000001"));
    }
}
