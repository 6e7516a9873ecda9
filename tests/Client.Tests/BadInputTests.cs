using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

/// <summary>
/// Bad input from the command line: one line that starts "error: " and names the file, field or option, exit 2 for
/// bad input and 1 for a failed run, and never a .NET stack trace unless --verbose asks for it.
/// </summary>
public class BadInputTests
{
    private static void AssertOneCleanError(string error, string expected)
    {
        Assert.StartsWith("error: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Unhandled exception", error);
        Assert.DoesNotContain("System.", error);
    }

    [Theory]
    [InlineData(new[] { "train", "--bogus" }, "Unrecognized command or argument '--bogus'")]
    [InlineData(new[] { "trian" }, "Unrecognized command or argument 'trian'")]
    [InlineData(new[] { "generate", "--model", "tiny", "--prompt", "x", "--top-p", "NaN" }, "--top-p: must be a finite number")]
    [InlineData(new[] { "generate", "--model", "tiny", "--prompt", "x", "--top-p", "abc" }, "'--top-p' as a number")]
    [InlineData(new[] { "generate", "--model", "tiny", "--prompt", "x", "--temperature", "-Infinity" }, "--temperature: must be a finite number")]
    [InlineData(new[] { "bench", "train", "--steps", "0" }, "--steps: must be at least 1 (got 0)")]
    [InlineData(new[] { "bench", "train", "--rank", "0" }, "--rank: must be at least 1 (got 0)")]
    // The same option name is a ring position there, counted from 0.
    [InlineData(new[] { "bench", "allreduce-worker", "--rank", "-1", "--workers", "2", "--mb", "1", "--iterations", "1", "--warmup", "0" },
        "--rank: must be at least 0 (got -1)")]
    public async Task A_usage_error_is_bad_input(string[] args, string expected)
    {
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(ExitCodes.InvalidInput, code);
        AssertOneCleanError(error, expected);
    }

    [Fact]
    public async Task An_output_folder_that_is_an_existing_file_is_named_by_its_option()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("taken"), "a file");
        var (code, _, error) = await CliRunner.RunAsync("merge", "--model", "tiny", "--adapter", dir.Path, "--out", dir.File("taken"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        AssertOneCleanError(error, $"--out: {dir.File("taken")} is an existing file, not a folder");
        var train = await CliRunner.RunAsync("train", "--steps", "1", "--output", dir.File("taken"));
        Assert.Equal(ExitCodes.InvalidInput, train.ExitCode);
        AssertOneCleanError(train.Error, "--output:");
    }

    [Theory]
    [InlineData("trainer_state.json")]
    [InlineData("optimizer.bin")]
    public async Task Resuming_from_a_damaged_checkpoint_names_the_damaged_file(string damaged)
    {
        using var dir = new TempDirectory();
        var first = await CliRunner.RunAsync("train", "--steps", "2", "--output", dir.Path, "--set", "checkpoint.interval=1");
        Assert.Equal(ExitCodes.Success, first.ExitCode);
        string latest = Directory.GetDirectories(Path.Combine(dir.Path, "checkpoints")).Order().Last();
        string file = Path.Combine(latest, damaged);
        byte[] bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);

        var (code, _, error) = await CliRunner.RunAsync("train", "--steps", "2", "--output", dir.Path, "--set", "checkpoint.interval=1", "--resume");
        Assert.Equal(ExitCodes.InvalidInput, code);
        AssertOneCleanError(error.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal)), file);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task A_corrupt_tokenizer_in_a_model_folder_is_named()
    {
        using var dir = new TempDirectory();
        var train = await CliRunner.RunAsync("train", "--steps", "1", "--output", dir.File("run"));
        Assert.Equal(ExitCodes.Success, train.ExitCode);
        var merge = await CliRunner.RunAsync("merge", "--model", "tiny", "--adapter", dir.File("run/adapter"), "--out", dir.File("model"));
        Assert.Equal(ExitCodes.Success, merge.ExitCode);
        File.WriteAllText(dir.File("model/tokenizer.json"), "{\"model\": {\"vocab\": ");

        var (code, _, error) = await CliRunner.RunAsync("generate", "--model", dir.File("model"), "--prompt", "hi");
        Assert.Equal(ExitCodes.InvalidInput, code);
        AssertOneCleanError(error, $"{dir.File("model/tokenizer.json")}: invalid JSON");
    }

    [Fact]
    public async Task Verbose_adds_the_stack_trace_after_the_line()
    {
        var (code, _, error) = await CliRunner.RunAsync("generate", "--model", "/no/such/model", "--prompt", "hi", "--verbose");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains("   at ", error);
    }

    [Fact]
    public void An_exception_nobody_expected_still_gets_one_line_and_the_hint()
    {
        (int code, string line) = ErrorReport.Describe(new AggregateException(new FormatException("Object reference not set")));
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("error: unexpected failure: Object reference not set (rerun with --verbose for the details)", line);
        Assert.Equal(ExitCodes.Failure, ErrorReport.Describe(new IOException("No space left on device : '/x'", 28)).ExitCode);
        Assert.Contains("disk full", ErrorReport.Describe(new IOException("No space left on device : '/x'", 28)).Line);
        Assert.Equal(ExitCodes.InvalidInput, ErrorReport.Describe(new UnauthorizedAccessException("Access to the path '/x' is denied.")).ExitCode);
        Assert.Equal(ExitCodes.Cancelled, ErrorReport.Describe(new TaskCanceledException()).ExitCode);
    }
}
