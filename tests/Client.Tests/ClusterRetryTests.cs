using FlatLora.Client.Cluster;

namespace FlatLora.Client.Tests;

public sealed class ClusterRetryTests
{
    [Fact]
    public async Task A_runtime_timeout_is_retried_like_a_refusal()
    {
        int calls = 0;
        using var notices = new StringWriter();

        int answer = await ClusterRetry.ReadAsync(() => ++calls < 3 ? throw new Polly.Timeout.TimeoutRejectedException("directory lookup timed out") : Task.FromResult(42),
            notices, CancellationToken.None);

        Assert.Equal(42, answer);
        Assert.Equal(3, calls);
        Assert.Contains("directory lookup timed out", notices.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_a_grain_raised_is_not_retried()
    {
        int calls = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => ClusterRetry.ReadAsync<int>(() => { calls++; throw new InvalidOperationException("no experiment x"); },
            TextWriter.Null, CancellationToken.None));
        Assert.Equal(1, calls);
    }
}
