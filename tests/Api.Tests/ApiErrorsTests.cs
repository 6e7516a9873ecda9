using FlatLora.Abstractions;
using FlatLora.Api.Errors;
using FlatLora.Api.Identity;
using FlatLora.Spec;
using Grpc.Core;

namespace FlatLora.Api.Tests;

/// <summary>What a failed API call answers: one status with one message, never a trace.</summary>
public class ApiErrorsTests
{
    public static TheoryData<Exception, StatusCode> Cases => new()
    {
        { new SpecException("lora.rank", "must be at least 1 (got 0)"), StatusCode.InvalidArgument },
        { new SpecRejectedException("lora.rank: must be at least 1"), StatusCode.InvalidArgument },
        { new ArgumentException("page_size: must be in [1, 1000]"), StatusCode.InvalidArgument },
        { new KeyNotFoundException("no experiment x"), StatusCode.NotFound },
        { new AccessDeniedException("bob@vision may not cancel x"), StatusCode.PermissionDenied },
        { new UnidentifiedCallerException("no bearer token"), StatusCode.Unauthenticated },
        { new Polly.Timeout.TimeoutRejectedException("placement timed out"), StatusCode.Unavailable },
        { new TimeoutException("response timed out"), StatusCode.Unavailable },
        { new Orleans.Storage.InconsistentStateException("etag"), StatusCode.Unavailable },
        { new InvalidOperationException("bug"), StatusCode.Internal },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_failure_has_one_status(Exception failure, StatusCode code)
    {
        RpcException answer = ApiErrors.ToRpc(failure, "abc123");
        Assert.Equal(code, answer.StatusCode);
        Assert.DoesNotContain("   at ", answer.Status.Detail);
        if (code == StatusCode.Internal)
            Assert.Equal("unexpected failure on the cluster (the silo's log has it as abc123)", answer.Status.Detail);
        else if (code != StatusCode.Unavailable)
            Assert.Equal(failure.Message, answer.Status.Detail);
    }
}
