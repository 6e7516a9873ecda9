using FlatLora.Spec;
using FlatLora.Trainer.Model;
using static TorchSharp.torch;

namespace FlatLora.Trainer.Tests.Distributed;

/// <summary>
/// Dropout masks come from the run's own counter-based stream, keyed by (seed, step, rank, micro-batch, layer), so
/// ranks and runs that share a process (one device thread each) never change each other's masks.
/// </summary>
public class ConcurrentDropoutTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("flat")]
    public void Two_ranks_training_at_once_in_one_process_give_bit_identical_results_on_every_repeat(string method)
    {
        using var dir = new TempDirectory();
        BaseModel baseModel = TestModels.RandomBase(dir.Path);
        TrainSpec spec = TestModels.Spec(dir.File("run"), method: method, rho: 0.3, steps: 6, batch: 8, microBatch: 2, dropout: 0.2);
        List<Tensor> first = DataParallelEquivalenceTests.TrainDataParallel(spec, baseModel, worldSize: 2, steps: 6, runKey: $"{method}/a");
        for (int repeat = 0; repeat < 2; repeat++)
        {
            List<Tensor> again = DataParallelEquivalenceTests.TrainDataParallel(spec, baseModel, worldSize: 2, steps: 6, runKey: $"{method}/{repeat}");
            Assert.All(first.Zip(again), pair => Assert.True(TestModels.BitEqual(pair.First, pair.Second), $"repeat {repeat + 1} differs"));
        }
    }
}
