using FlatLora.Client.Rendering;

namespace FlatLora.Client.Tests;

public class DurationsTests
{
    [Theory]
    [InlineData(0, "00:00:00")]
    [InlineData(3661, "01:01:01")]
    [InlineData(31 * 3600 + 5 * 60 + 9, "31:05:09")]      // past 24 h: hours keep counting (TimeSpan's hh wrapped to 07)
    [InlineData(double.NaN, "--:--:--")]
    [InlineData(-5, "--:--:--")]
    public void A_clock_never_wraps_at_a_day(double seconds, string expected) => Assert.Equal(expected, Durations.Clock(seconds));
}
