using FlatLora.Collectives;
using FlatLora.Spec;
using FlatLora.Trainer.Data;
using FlatLora.Trainer.Errors;
using FlatLora.Trainer.IO;
using FlatLora.Trainer.Tokenization;
using FlatLora.Trainer.Training;

namespace FlatLora.Trainer.Tests.Errors;

/// <summary>Every exception type the code throws or catches, and the one kind of failure it is (the CLI and the cluster both read it).</summary>
public sealed class FailuresTests
{
    public static TheoryData<Exception, FailureKind, bool> Table => new()
    {
        { new SpecException("training.max_steps", "must be at least 1"), FailureKind.BadInput, false },
        { new DataFormatException("train.jsonl", 3, "not JSON"), FailureKind.BadInput, false },
        { new SafeTensorsFormatException("model.safetensors", "overlapping tensors"), FailureKind.BadInput, false },
        { new TokenizerFormatException("tokenizer.json", "no model"), FailureKind.BadInput, false },
        { new FileNotFoundException("not a Hugging Face model folder (no config.json)"), FailureKind.BadInput, false },
        { new DirectoryNotFoundException("no such folder"), FailureKind.BadInput, false },
        { new PathTooLongException("too long"), FailureKind.BadInput, false },
        { new UnauthorizedAccessException("permission denied"), FailureKind.BadInput, false },
        { new ArgumentException("bad value"), FailureKind.BadInput, false },
        { new NotSupportedException("dtype int4"), FailureKind.BadInput, false },
        { new InvalidDataException("corrupt optimizer.bin"), FailureKind.BadInput, false },
        { new KeyNotFoundException("no tensor q_proj"), FailureKind.BadInput, false },
        { new DllNotFoundException("libtorch"), FailureKind.BadInput, false },
        { new NonFiniteLossException(7, "loss", double.NaN, null), FailureKind.Diverged, false },
        { new FingerprintMismatchException("rank 1 perturbed differently"), FailureKind.Inconsistent, false },
        { new IOException("No space left on device"), FailureKind.DiskFull, true },
        { new IOException("connection reset"), FailureKind.Transient, true },
        { new PeerUnavailableException(1, "rank 1 unreachable"), FailureKind.Transient, true },
        { new CollectiveTimeoutException("no gradients from rank 1 in 30 s"), FailureKind.Transient, true },
        { new RingRejectedException("stale attempt"), FailureKind.Transient, true },
        { new TimeoutException("slow disk"), FailureKind.Transient, true },
        { new InvalidOperationException("a run's own failure"), FailureKind.Unexpected, false },
        { new FormatException("a bug"), FailureKind.Unexpected, false },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Each_exception_is_one_kind_of_failure_and_only_transient_ones_and_a_full_disk_are_retried(Exception e, FailureKind kind, bool retried)
    {
        Assert.Equal(kind, Failures.Classify(e));
        Assert.Equal(retried, Failures.IsRetryable(Failures.Classify(e)));
    }
}
