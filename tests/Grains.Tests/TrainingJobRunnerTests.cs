using FlatLora.Abstractions.Cluster;
using FlatLora.Abstractions.Experiments;
using FlatLora.Collectives;
using FlatLora.Grains.Execution;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using Microsoft.Extensions.Options;

namespace FlatLora.Grains.Tests;

/// <summary>How a training job's failure is classified on the cluster: what a retry cannot fix fails the run at once.</summary>
public sealed class TrainingJobRunnerTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-runner-tests", Guid.NewGuid().ToString("N"));

    public TrainingJobRunnerTests() => Directory.CreateDirectory(_work);

    [Theory]
    [InlineData("missing")]       // model.path names nothing
    [InlineData("no-config")]     // a folder without the model's files
    public void A_model_path_that_holds_no_model_fails_the_run_without_retries(string kind)
    {
        string model = Path.Combine(_work, kind);
        if (kind == "no-config")
            Directory.CreateDirectory(model);
        TrainSpec tiny = TrainPresets.Tiny();
        var job = new ShardJob
        {
            RunKey = "exp-1/1",
            ExperimentId = "exp-1",
            Seed = 1,
            Spec = tiny with { Model = new ModelSpec { Path = model }, OutputDir = Path.Combine(_work, "out"), Training = tiny.Training with { MaxSteps = 2 } },
            Peers = ["s/cpu:0"],
        };
        var runner = new TrainingJobRunner(new GradientInbox(), Options.Create(new FlatLoraClusterOptions()));

        ShardOutcome outcome = runner.Run(job, "cpu:0", new NoReports(), CancellationToken.None);

        Assert.True(outcome.Result == ShardResult.Failed, $"{outcome.Result}: {outcome.Error}");
        Assert.Contains(kind, outcome.Error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private sealed class NoReports : IShardReporter
    {
        public void Progress(ShardJob job, ProgressEvent progress, string? lastCheckpoint) { }
        public void Heartbeat(ShardJob job) { }
        public void Finished(ShardJob job, ShardOutcome outcome) { }
    }
}
