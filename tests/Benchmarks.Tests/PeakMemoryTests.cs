using FlatLora.Benchmarks.Training;

namespace FlatLora.Benchmarks.Tests;

public sealed class PeakMemoryTests
{
    [Theory]
    [InlineData("VmHWM:\t  612345 kB", 612345)]
    [InlineData("VmHWM:\t12582912 kB", 12582912)]   // 12 GiB: no padding left between the tab and the digits
    public void Reads_the_peak_whatever_its_width(string line, long kib) =>
        Assert.Equal(kib / 1024.0 / 1024.0, PeakMemory.ParseStatusLine(line)!.Value, 9);

    [Fact]
    public void A_line_without_a_number_gives_nothing() => Assert.Null(PeakMemory.ParseStatusLine("VmHWM:"));
}
