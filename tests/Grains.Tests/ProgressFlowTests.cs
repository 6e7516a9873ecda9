using FlatLora.Abstractions.Experiments;
using FlatLora.Spec;

namespace FlatLora.Grains.Tests;

[Collection(ClusterTests.Name)]
public class ProgressFlowTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Step_progress_reaches_the_experiment_while_the_run_is_going()
    {
        string id = ClusterWaits.NewId("flow");
        var spec = new TrainSpec { Training = new TrainingSpec { MaxSteps = 150 }, Experiment = new ExperimentSection { Seeds = [1] } };
        await fixture.Grains.GetGrain<IExperimentGrain>(id).SubmitAsync(new ExperimentRequest { Spec = spec });
        ExperimentStatus running = await ClusterWaits.ExperimentAsync(fixture.Grains, id, s => s.Seeds[0].Step is > 5 and < 150, "to report steps mid-run");
        Assert.Equal(RunState.Running, running.State);
        Assert.Equal(150, running.Seeds[0].TotalSteps);
        ExperimentStatus final = await ClusterWaits.FinalAsync(fixture.Grains, id);
        Assert.Equal(RunState.Completed, final.State);
        Assert.Equal(1, final.Seeds[0].Attempt);   // heartbeats kept it alive past the 3 s timeout
    }
}
