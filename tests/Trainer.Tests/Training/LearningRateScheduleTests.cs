using FlatLora.Spec;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Tests.Training;

public class LearningRateScheduleTests
{
    [Fact]
    public void Warmup_is_linear_then_cosine_decays_to_the_floor()
    {
        var spec = new OptimizerSpec { Lr = 1.0, WarmupSteps = 10, Schedule = "cosine", MinLrRatio = 0.1 };
        Assert.Equal(0, LearningRateSchedule.At(spec, 0, 110));
        Assert.Equal(0.5, LearningRateSchedule.At(spec, 5, 110), 12);
        Assert.Equal(1.0, LearningRateSchedule.At(spec, 10, 110), 12);
        Assert.Equal(0.55, LearningRateSchedule.At(spec, 60, 110), 12);   // halfway: 0.1 + 0.9·0.5
        Assert.Equal(0.1, LearningRateSchedule.At(spec, 110, 110), 12);
    }

    [Fact]
    public void Warmup_ratio_rounds_up_and_linear_and_constant_schedules_work()
    {
        Assert.Equal(3, LearningRateSchedule.WarmupSteps(new OptimizerSpec { WarmupRatio = 0.03 }, 100));
        var linear = new OptimizerSpec { Lr = 2, WarmupSteps = 0, Schedule = "linear" };
        Assert.Equal(1.0, LearningRateSchedule.At(linear, 50, 100), 12);
        var constant = new OptimizerSpec { Lr = 2, WarmupSteps = 0, Schedule = "constant" };
        Assert.Equal(2.0, LearningRateSchedule.At(constant, 99, 100), 12);
    }
}
