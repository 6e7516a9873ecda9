using FlatLora.Client.Cluster;
using Grpc.Core;

namespace FlatLora.Client.Tests;

public sealed class ApiRetryTests
{
    [Fact]
    public async Task A_call_the_cluster_could_not_route_is_retried_with_one_notice()
    {
        int calls = 0;
        using var notices = new StringWriter();

        int answer = await ApiRetry.ReadAsync(() => ++calls < 3 ? throw new RpcException(new Status(StatusCode.Unavailable, "directory lookup timed out")) : Task.FromResult(42),
            notices, CancellationToken.None);

        Assert.Equal(42, answer);
        Assert.Equal(3, calls);
        Assert.Single(notices.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("directory lookup timed out", notices.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.InvalidArgument)]
    public async Task An_answer_a_service_gave_is_not_retried(StatusCode code)
    {
        int calls = 0;
        await Assert.ThrowsAsync<RpcException>(() => ApiRetry.ReadAsync<int>(() => { calls++; throw new RpcException(new Status(code, "no experiment x")); },
            TextWriter.Null, CancellationToken.None));
        Assert.Equal(1, calls);
    }
}
