using FlatLora.Trainer.Determinism;

namespace FlatLora.Trainer.Tests.Determinism;

public class PortableMathTests
{
    [Fact]
    public void Log_is_within_a_few_ulps_of_the_true_value_on_the_box_muller_range()
    {
        for (int i = 1; i <= 1 << 24; i += 997)
        {
            float x = 1f - (i - 1) / 16777216f;           // (0, 1], as Box–Muller's u1
            double exact = Math.Log(x);
            double error = Math.Abs(PortableMath.Log(x) - exact);
            float magnitude = MathF.Abs((float)exact);
            double ulp = MathF.BitIncrement(magnitude) - magnitude;
            Assert.True(error <= 4 * ulp, $"ln({x}) off by {error / ulp:F1} ulp");
        }
    }

    [Fact]
    public void CosSin_matches_double_precision_within_float_rounding()
    {
        for (int i = 0; i < 1 << 24; i += 1013)
        {
            float turns = i / 16777216f;
            (float cos, float sin) = PortableMath.CosSinTurns(turns);
            Assert.Equal(Math.Cos(2 * Math.PI * turns), cos, 3e-7);
            Assert.Equal(Math.Sin(2 * Math.PI * turns), sin, 3e-7);
        }
    }
}
