using FlatLora.Abstractions.Experiments;
using FlatLora.Client.Rendering;
using FlatLora.Spec.Reporting;

namespace FlatLora.Client.Tests;

/// <summary>Results of runs that did not complete show how far they got, and attempts that trained apart from start tries that went nowhere.</summary>
public class ResultsViewTests
{
    private static ExperimentResults Cancelled() => new()
    {
        Status = new ExperimentStatus
        {
            Id = "exp-1",
            State = RunState.Cancelled,
            Method = "flat",
            Seeds =
            [
                new SeedRunStatus
                {
                    Seed = 7, State = RunState.Cancelled, Step = 1219, TotalSteps = 5000, Attempt = 7, UnroutedStarts = 5,
                    Metrics = new RunMetrics { Steps = 1219, FinalLoss = 0.25, TokensPerSecond = 900 },
                },
            ],
        },
        Summary = [],
    };

    [Fact]
    public void Csv_shows_the_step_a_cancelled_run_reached_its_last_loss_and_its_attempts_apart_from_unrouted_start_tries()
    {
        var output = new StringWriter();
        ResultsView.Write(Cancelled(), "csv", output);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("seed,state,attempts,unrouted_starts,preemptions,steps,initial_loss,final_loss", lines[0]);
        Assert.StartsWith("7,Cancelled,2,5,0,1219,,0.25,", lines[1]);
    }

    [Fact]
    public void The_table_shows_trained_attempts_with_the_unrouted_start_tries_beside_them()
    {
        var output = new StringWriter();
        ResultsView.Write(Cancelled(), "table", output);
        Assert.Contains("2 (+5 unrouted)", output.ToString());
        Assert.Contains("1219", output.ToString());
    }
}
