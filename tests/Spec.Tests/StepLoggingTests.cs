using FlatLora.Spec.Reporting;

namespace FlatLora.Spec.Tests;

public class StepLoggingTests
{
    [Fact]
    public void The_first_every_log_every_th_and_the_last_step_are_due()
    {
        // 0-based step indices of a 25-step run with log_every 10: the first, steps done 10 and 20, and the last.
        long[] due = Enumerable.Range(0, 25).Where(step => StepLogging.IsDue(step, 25, 10)).Select(s => (long)s).ToArray();
        Assert.Equal([0L, 9, 19, 24], due);
        Assert.True(StepLogging.IsDue(new StepFigures { Step = 19, TotalSteps = 25 }, 10));
        Assert.False(StepLogging.IsDue(new StepFigures { Step = 20, TotalSteps = 25 }, 10));
    }
}
