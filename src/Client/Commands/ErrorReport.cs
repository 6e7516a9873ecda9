using System.Reflection;
using FlatLora.Abstractions;
using FlatLora.Client.Cluster;
using FlatLora.Trainer.Errors;

namespace FlatLora.Client.Commands;

/// <summary>
/// The one place that turns an exception into what a user sees: one line, <c>error: &lt;file or field&gt;: &lt;what&gt;</c>,
/// and an exit code (2 bad input, 1 a failed run, 3 no cluster, 4 not permitted, 130 cancelled). A stack trace is printed only with
/// <c>--verbose</c>; an exception nobody expected still gets one line and the hint to rerun with it.
/// </summary>
internal static class ErrorReport
{
    public static (int ExitCode, string Line) Describe(Exception exception)
    {
        Exception e = Unwrap(exception);
        return e switch
        {
            OperationCanceledException => (ExitCodes.Cancelled, "cancelled."),
            Grpc.Core.RpcException rpc => ApiErrorReport.Describe(rpc),
            ClusterUnavailableException => (ExitCodes.Unavailable, $"error: {e.Message}"),
            SpecRejectedException => (ExitCodes.InvalidInput, $"error: {e.Message}"),
            // The same classes the cluster uses to decide whether to retry (Failures).
            _ => Failures.Classify(e) switch
            {
                FailureKind.BadInput => (ExitCodes.InvalidInput, $"error: {e.Message}"),
                FailureKind.DiskFull => (ExitCodes.Failure, $"error: disk full: {e.Message} (the last complete checkpoint is kept)"),
                // An InvalidOperationException's message is written for the user: one of ours, reporting a failed run.
                FailureKind.Unexpected when e is not InvalidOperationException =>
                    (ExitCodes.Failure, $"error: unexpected failure: {e.Message} (rerun with --verbose for the details)"),
                _ => (ExitCodes.Failure, $"error: {e.Message}"),
            },
        };
    }

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } aggregate:
                    e = aggregate.InnerExceptions[0];
                    continue;
                case TargetInvocationException { InnerException: Exception invoked }:
                    e = invoked;
                    continue;
                case TypeInitializationException { InnerException: Exception initializing }:
                    e = initializing;
                    continue;
                default:
                    return e;
            }
        }
    }
}
