using FlatLora.Spec;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Model;
using FlatLora.Trainer.Training;
using TorchSharp;

namespace FlatLora.Trainer.Tests.Training;

public class RunConstructionTests
{
    [Fact]
    public void A_run_that_fails_late_in_construction_releases_every_tensor_it_made()
    {
        using var dir = new TempDirectory();
        // Weights for a bigger vocabulary: the model, its LoRA layers and the loader are all built before the
        // mismatch is found, which is as late as construction fails.
        BaseModel wrongWeights = TestModels.RandomBase(dir.Path, TestModels.Config() with { VocabSize = 300 }) with { Config = TestModels.Config() };
        ValidTrainSpec spec = ValidTrainSpec.From(TestModels.Spec(dir.File("run"), method: "flat", rho: 0.2));
        var data = TestModels.Data();

        Assert.Throws<SafeTensorsFormatException>(() => new FineTuneRun(spec, wrongWeights, data));   // warms up lazy statics
        long baseline = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var error = Assert.Throws<SafeTensorsFormatException>(() => new FineTuneRun(spec, wrongWeights, data));
            Assert.Contains("embed_tokens", error.Message);
        }
        Assert.Equal(baseline, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
