using System.Security.Authentication;
using FlatLora.Client.Commands;
using Grpc.Core;

namespace FlatLora.Client.Cluster;

/// <summary>
/// What an API answer that is not a result means to a user: one line and an exit code. Bad input (INVALID_ARGUMENT,
/// NOT_FOUND) is exit 2 with the server's words, a refusal (PERMISSION_DENIED, UNAUTHENTICATED) exit 4 naming the
/// caller and the action, an unreachable or foreign server exit 3, a failure on the cluster exit 1.
/// </summary>
internal static class ApiErrorReport
{
    public static (int ExitCode, string Line) Describe(RpcException e) => e.StatusCode switch
    {
        StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.OutOfRange or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted
            => (ExitCodes.InvalidInput, $"error: {Detail(e)}"),
        StatusCode.PermissionDenied => (ExitCodes.NotPermitted, $"error: not permitted: {Detail(e)}"),
        StatusCode.Unauthenticated => (ExitCodes.NotPermitted, $"error: not identified: {Detail(e)}"),
        StatusCode.Cancelled => (ExitCodes.Cancelled, "cancelled."),
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => (ExitCodes.Unavailable, $"error: the cluster did not answer: {Detail(e)}"),
        StatusCode.Unimplemented => (ExitCodes.Unavailable, $"error: the server does not serve this call of flatlora.v1 (another API version?): {Detail(e)}"),
        _ => (ExitCodes.Failure, $"error: {Detail(e)}"),
    };

    /// <summary>A server that gave no usable answer to the first call: why, in words, and what to pass.</summary>
    public static ClusterUnavailableException Unreachable(string where, RpcException e, ApiOptions options)
    {
        string reason = Detail(e);
        if (HasCause<AuthenticationException>(e) || reason.Contains("SSL", StringComparison.Ordinal) || reason.Contains("TLS", StringComparison.Ordinal))
            return new ClusterUnavailableException(options.TlsDirectory is null
                ? $"could not reach {where}: its TLS handshake failed; the cluster needs TLS (--tls-dir DIR or $FLATLORA_TLS_DIR)"
                : $"could not reach {where}: the TLS handshake failed; the API refused this client certificate or its CA ({reason})", e);
        string hint = options.Local ? ""
            : options.TlsDirectory is null ? " Start silos with flatlora-silo and pass --api host:port (if the cluster runs TLS, also --tls-dir DIR), or use --local."
            : " Start silos with flatlora-silo and pass --api host:port, or use --local.";
        return new ClusterUnavailableException($"could not reach {where} ({reason}).{hint}", e);
    }

    // The server's message, or the transport's reason when the call never reached a server.
    private static string Detail(RpcException e) =>
        e.Status.DebugException is { } cause && (e.Status.Detail.StartsWith("Error starting gRPC call", StringComparison.Ordinal) || e.Status.Detail.Length == 0)
            ? cause.GetBaseException().Message
            : e.Status.Detail;

    private static bool HasCause<T>(RpcException e) where T : Exception
    {
        for (Exception? x = e.Status.DebugException; x is not null; x = x.InnerException)
        {
            if (x is T)
                return true;
        }
        return false;
    }
}
