using System.Text.Json;

namespace FlatLora.Silo.Tests;

/// <summary>`flatlora bench allreduce` end to end: the CLI starts worker processes of itself and reports JSON.</summary>
public class BenchAllReduceTests
{
    [Fact]
    public async Task Three_worker_processes_report_a_correct_sum_and_both_bandwidths()
    {
        (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(3),
            ["bench", "allreduce", "--workers", "3", "--mb", "1", "--iterations", "3", "--warmup", "1", "--shape", "tiny", "--rank", "4", "--json"]);
        Assert.True(code == 0, output);
        using JsonDocument report = JsonDocument.Parse(output.Split('\n').Single(line => line.StartsWith('{')));
        JsonElement root = report.RootElement;
        Assert.True(root.GetProperty("sum_correct").GetBoolean());
        Assert.Equal(3, root.GetProperty("workers").GetInt32());
        Assert.Equal(3, root.GetProperty("iterations").GetInt32());
        Assert.Equal(2L * 2 * (1 << 20) / 3, root.GetProperty("bytes_per_rank").GetInt64());   // 2(W-1)/W of 1 MB
        Assert.True(root.GetProperty("bus_gigabytes_per_second").GetDouble() > 0);
        Assert.True(root.GetProperty("raw_tcp_gigabytes_per_second").GetDouble() > 0);
        JsonElement gradients = root.GetProperty("gradients");
        Assert.True(gradients.GetProperty("full_bytes_per_step").GetInt64() > 10 * gradients.GetProperty("lora_bytes_per_step").GetInt64());
    }

    [Theory]
    [InlineData("encrypted")]
    [InlineData("authenticated")]
    public async Task The_ring_seals_its_frames_as_asked_and_still_sums_exactly(string sealing)
    {
        (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(3),
            ["bench", "allreduce", "--workers", "2", "--mb", "1", "--iterations", "2", "--warmup", "1", "--shape", "tiny", "--sealing", sealing, "--json"]);
        Assert.True(code == 0, output);
        using JsonDocument report = JsonDocument.Parse(output.Split('\n').Single(line => line.StartsWith('{')));
        Assert.Equal(sealing, report.RootElement.GetProperty("sealing").GetString());
        Assert.True(report.RootElement.GetProperty("sum_correct").GetBoolean());
    }

    [Fact]
    public async Task A_bad_worker_count_is_named()
    {
        (int code, string output) = await ChildProcess.RunCliAsync(TimeSpan.FromMinutes(1), ["bench", "allreduce", "--workers", "1"]);
        Assert.Equal(2, code);
        Assert.Contains("--workers must be in [2, 16] (got 1)", output);
    }
}
