using FlatLora.Spec;
using FlatLora.Trainer.Lora;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Training;

public class TrainingTests
{
    private static List<Tensor> TrainSteps(TrainSpec spec, BaseModel baseModel, int steps)
    {
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data());
        for (int i = 0; i < steps; i++)
            run.TrainStep();
        return TestModels.Snapshot(run.LoraParameters);
    }

    [Fact]
    public void Flat_with_rho_zero_equals_lora_bit_for_bit()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        var lora = TrainSteps(TestModels.Spec(dir.File("a"), method: "lora", dropout: 0.1), baseModel, 6);
        var flatZero = TrainSteps(TestModels.Spec(dir.File("b"), method: "flat", rho: 0, dropout: 0.1), baseModel, 6);
        var flat = TrainSteps(TestModels.Spec(dir.File("c"), method: "flat", rho: 0.5, dropout: 0.1), baseModel, 6);
        Assert.All(lora.Zip(flatZero), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second)));
        // The comparison can fail: with noise on, the weights move differently.
        Assert.Contains(lora.Zip(flat), pair => !TestModels.BitEqual(pair.First, pair.Second));
    }

    [Fact]
    public void Resuming_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        TrainSpec spec = TestModels.Spec(dir.File("straight"), method: "flat", rho: 0.3, steps: 12, dropout: 0.1);
        var straight = TrainSteps(spec, baseModel, 12);

        TrainSpec interrupted = spec with { OutputDir = dir.File("interrupted") };
        string checkpoint;
        using (var first = new FineTuneRun(ValidTrainSpec.From(interrupted), baseModel, TestModels.Data()))
        {
            for (int i = 0; i < 6; i++)
                first.TrainStep();
            checkpoint = first.SaveCheckpoint()!;
            first.TrainStep();   // work after the checkpoint is lost with the process
        }
        using var second = new FineTuneRun(ValidTrainSpec.From(interrupted), baseModel, TestModels.Data());
        second.ResumeFrom(checkpoint);
        Assert.Equal(6, second.Step);
        while (second.Step < 12)
            second.TrainStep();
        Assert.All(straight.Zip(second.LoraParameters), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second)));
    }

    [Fact]
    public void Resuming_under_a_different_spec_is_refused_naming_the_section()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        TrainSpec spec = TestModels.Spec(dir.File("run"), steps: 4);
        string checkpoint;
        using (var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data()))
        {
            run.TrainStep();
            checkpoint = run.SaveCheckpoint()!;
        }
        using var other = new FineTuneRun(ValidTrainSpec.From(spec with { Method = new MethodSpec { Name = "flat", Rho = 0.2 } }), baseModel, TestModels.Data());
        var error = Assert.Throws<InvalidDataException>(() => other.ResumeFrom(checkpoint));
        Assert.Contains("differs in: method", error.Message);
    }

    [Fact]
    public void A_nan_loss_stops_before_the_update_and_keeps_the_last_checkpoint()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        using var run = new FineTuneRun(ValidTrainSpec.From(TestModels.Spec(dir.File("run"), steps: 10)), baseModel, TestModels.Data());
        run.TrainStep();
        run.TrainStep();
        string checkpoint = run.SaveCheckpoint()!;
        var good = TestModels.Snapshot(run.LoraParameters);
        using (no_grad())
            LoraInjector.LoraLayers(run.Model)[0].LoraB.fill_(double.NaN);
        var error = Assert.Throws<NonFiniteLossException>(() => run.TrainStep());
        Assert.Equal(2, error.Step);
        Assert.Equal(checkpoint, error.LastCheckpoint);
        Assert.Contains("last good checkpoint", error.Message);
        Assert.Equal(2, run.Step);
        // Every other LoRA tensor is untouched by the failed step, and the checkpoint still loads.
        Assert.All(good.Zip(run.LoraParameters).Skip(2), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second)));
        using var resumed = new FineTuneRun(ValidTrainSpec.From(TestModels.Spec(dir.File("run"), steps: 10)), baseModel, TestModels.Data());
        resumed.ResumeFrom(checkpoint);
        Assert.All(good.Zip(resumed.LoraParameters), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second)));
    }

    [Fact]
    public void Training_steps_do_not_leak_native_tensors()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        using var run = new FineTuneRun(ValidTrainSpec.From(TestModels.Spec(dir.File("run"), method: "flat", rho: 0.2, steps: 20)), baseModel, TestModels.Data());
        run.TrainStep();   // creates the optimizer state
        run.TrainStep();
        long baseline = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 8; i++)
            run.TrainStep();
        run.Evaluate();
        Assert.Equal(baseline, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Train_writes_adapter_metrics_summary_and_checkpoints()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        TrainSpec spec = TestModels.Spec(dir.File("run"), steps: 6) with { Checkpoint = new CheckpointSpec { Interval = 2, Keep = 2 } };
        using var run = new FineTuneRun(ValidTrainSpec.From(spec), baseModel, TestModels.Data());
        TrainResult result = run.Train();
        Assert.Equal(6, result.Metrics.Steps);
        Assert.True(result.Metrics.FrozenWeightsUnchanged);
        Assert.True(File.Exists(Path.Combine(result.Metrics.AdapterDirectory!, "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(result.Metrics.AdapterDirectory!, "adapter_config.json")));
        string[] metrics = File.ReadAllLines(Path.Combine(spec.OutputDir, "metrics.jsonl"));
        Assert.Equal(6, metrics.Count(l => l.Contains("\"kind\":\"step\"", StringComparison.Ordinal)));
        Assert.Equal(2, metrics.Count(l => l.Contains("\"kind\":\"eval\"", StringComparison.Ordinal)));
        Assert.Contains("\"final_loss\"", File.ReadAllText(Path.Combine(spec.OutputDir, "summary.json")));
        // Interval 2 over 6 steps writes 2, 4 and the final 6; keep 2 leaves 4 and 6.
        string[] kept = Directory.GetDirectories(Path.Combine(spec.OutputDir, "checkpoints")).Select(d => Path.GetFileName(d)!).Order().ToArray();
        Assert.Equal(["step-000004", "step-000006"], kept);
    }

    [Fact]
    public void Cancellation_stops_between_micro_batches_and_checkpoints_the_last_whole_step()
    {
        using var dir = new TempDirectory();
        var baseModel = TestModels.RandomBase(dir.Path);
        using var cancel = new CancellationTokenSource();
        var observer = new CancelAfter(3, cancel);
        using var run = new FineTuneRun(ValidTrainSpec.From(TestModels.Spec(dir.File("run"), steps: 50)), baseModel, TestModels.Data(), new RunOptions { Observer = observer });
        Assert.Throws<OperationCanceledException>(() => run.Train(cancel.Token));
        Assert.Equal(3, run.Step);
        Assert.EndsWith("step-000003", run.LastCheckpoint);
    }

    private sealed class CancelAfter(int steps, CancellationTokenSource source) : ITrainingObserver
    {
        public void OnStep(StepReport report)
        {
            if (report.Figures.Step + 1 == steps)
                source.Cancel();
        }
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("flat")]
    public void The_built_in_tiny_task_loss_drops_clearly(string method)
    {
        using var dir = new TempDirectory();
        var spec = new TrainSpec
        {
            Method = new MethodSpec { Name = method },
            Optimizer = new OptimizerSpec { Lr = 5e-3 },
            Training = new TrainingSpec { MaxSteps = 120, LogEvery = 20 },
            Data = new DataSpec { MaxSeqLen = 64 },
            OutputDir = dir.File("run"),
        };
        using var run = FineTuneRun.Create(ValidTrainSpec.From(spec));
        TrainResult result = run.Train();
        Assert.True(result.Metrics.FinalLoss < 0.35 * result.Metrics.InitialLoss, $"loss {result.Metrics.InitialLoss:F3} -> {result.Metrics.FinalLoss:F3}");
        Assert.True(result.FinalEval!.TokenAccuracy > 0.6, $"token accuracy {result.FinalEval.TokenAccuracy:F3}");
    }
}
