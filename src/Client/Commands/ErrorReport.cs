using System.Reflection;
using FlatLora.Abstractions;
using FlatLora.Client.Cluster;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

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
            _ when IsBadInput(e) => (ExitCodes.InvalidInput, $"error: {e.Message}"),
            IOException io when IsDiskFull(io) => (ExitCodes.Failure, $"error: disk full: {e.Message} (the last complete checkpoint is kept)"),
            NonFiniteLossException or InvalidOperationException or IOException or TimeoutException => (ExitCodes.Failure, $"error: {e.Message}"),
            _ => (ExitCodes.Failure, $"error: unexpected failure: {e.Message} (rerun with --verbose for the details)"),
        };
    }

    private static bool IsBadInput(Exception e) => e is SpecException or SpecRejectedException or DataFormatException or SafeTensorsFormatException
        or TokenizerFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException
        or InvalidDataException or KeyNotFoundException or DllNotFoundException or UnauthorizedAccessException or PathTooLongException;

    // ENOSPC is errno 28 on Linux; .NET keeps the errno as the HResult of the IOException it raises.
    private static bool IsDiskFull(IOException e) =>
        e.HResult == 28 || e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase);

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
