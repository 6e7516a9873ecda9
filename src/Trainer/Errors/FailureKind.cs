using FlatLora.Collectives;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Errors;

/// <summary>What kind of failure an exception is: the one answer the CLI (its exit code) and the cluster (retry or not) both use.</summary>
public enum FailureKind
{
    /// <summary>The spec, a file it names, or the data is wrong: the user must change something (CLI exit 2; the cluster does not retry).</summary>
    BadInput,

    /// <summary>The disk filled up: the last complete checkpoint is kept (CLI exit 1; the cluster retries, maybe elsewhere).</summary>
    DiskFull,

    /// <summary>The loss or gradient norm became NaN or infinite: a retry would diverge again.</summary>
    Diverged,

    /// <summary>Ranks disagree on what they compute (different code or data on a node): a retry would repeat it.</summary>
    Inconsistent,

    /// <summary>A peer, the network or the disk failed for now: a retry may succeed (the cluster retries; CLI exit 1).</summary>
    Transient,

    /// <summary>Nothing anyone expected: reported in one line, with the trace in the log.</summary>
    Unexpected,
}

/// <summary>
/// Classifies exceptions for everyone who must react to one. Before there was one list, the CLI called a missing file
/// bad input while the cluster retried it: a model.path naming a folder without config.json was tried max_retries
/// times before the run failed.
/// </summary>
public static class Failures
{
    public static FailureKind Classify(Exception e) => e switch
    {
        // Before IOException: some of these are IOExceptions (FileNotFound, DirectoryNotFound, PathTooLong).
        SpecException or DataFormatException or SafeTensorsFormatException or TokenizerFormatException
            or FileNotFoundException or DirectoryNotFoundException or PathTooLongException or UnauthorizedAccessException
            or ArgumentException or NotSupportedException or InvalidDataException or KeyNotFoundException or DllNotFoundException => FailureKind.BadInput,
        NonFiniteLossException => FailureKind.Diverged,
        FingerprintMismatchException => FailureKind.Inconsistent,
        IOException io when IsDiskFull(io) => FailureKind.DiskFull,
        IOException or TimeoutException or RingRejectedException => FailureKind.Transient,
        _ => FailureKind.Unexpected,
    };

    /// <summary>Whether a retry can help: transient failures and a full disk (another node, or space freed).</summary>
    public static bool IsRetryable(FailureKind kind) => kind is FailureKind.Transient or FailureKind.DiskFull;

    // ENOSPC is errno 28 on Linux; .NET keeps the errno as the HResult of the IOException it raises.
    private static bool IsDiskFull(IOException e) =>
        e.HResult == 28 || e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase);
}
