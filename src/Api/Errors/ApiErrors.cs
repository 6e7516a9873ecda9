using FlatLora.Abstractions;
using FlatLora.Abstractions.Cluster;
using FlatLora.Api.Identity;
using FlatLora.Spec;
using Grpc.Core;

namespace FlatLora.Api.Errors;

/// <summary>
/// What a failed call answers: a gRPC status with one clear message, never a stack trace. Bad input is
/// INVALID_ARGUMENT with every bad field, an unknown id NOT_FOUND, a refusal PERMISSION_DENIED, no identity
/// UNAUTHENTICATED, a cluster that cannot route the call or whose storage is recovering UNAVAILABLE (the client may
/// ask again). Anything else is
/// INTERNAL with an id that the silo's log carries next to the trace.
/// </summary>
public static class ApiErrors
{
    public static (StatusCode Code, string Outcome) Classify(Exception e) => e switch
    {
        RpcException rpc => (rpc.StatusCode, rpc.StatusCode.ToString().ToLowerInvariant()),
        UnidentifiedCallerException => (StatusCode.Unauthenticated, "unauthenticated"),
        AccessDeniedException => (StatusCode.PermissionDenied, "refused"),
        SpecException or SpecRejectedException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
            => (StatusCode.InvalidArgument, "invalid"),
        KeyNotFoundException => (StatusCode.NotFound, "not_found"),
        OperationCanceledException => (StatusCode.Cancelled, "cancelled"),
        TimeoutException => (StatusCode.Unavailable, "unavailable"),
        // Grain storage that lost records is being written back (a Redis restarted without persistence): ask again.
        Orleans.Storage.InconsistentStateException => (StatusCode.Unavailable, "unavailable"),
        _ when UnroutedCall.Is(e) => (StatusCode.Unavailable, "unavailable"),
        _ => (StatusCode.Internal, "error"),
    };

    /// <summary>The status to answer; <paramref name="errorId"/> names an unexpected failure in the log.</summary>
    public static RpcException ToRpc(Exception e, string errorId)
    {
        if (e is RpcException rpc)
            return rpc;
        (StatusCode code, _) = Classify(e);
        string message = code switch
        {
            StatusCode.Internal => $"unexpected failure on the cluster (the silo's log has it as {errorId})",
            StatusCode.Unavailable => $"the cluster could not route the call, ask again ({e.Message})",
            _ => e.Message,
        };
        return new RpcException(new Status(code, message));
    }
}
