using System.Diagnostics;
using FlatLora.Tests.Shared;

namespace FlatLora.Deploy.Tests;

/// <summary>What a clone must not carry: a run's output (a run writes under a relative output_dir) or Python bytecode.</summary>
public class RepositoryHygieneTests
{
    [Fact]
    public void No_tracked_file_is_run_output_or_bytecode()
    {
        var git = new ProcessStartInfo("git", ["ls-files"]) { WorkingDirectory = RepositoryPaths.Root, RedirectStandardOutput = true };
        using Process process = Process.Start(git)!;
        string[] files = process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        Assert.NotEmpty(files);
        string[] junk = [.. files.Where(f => f.StartsWith("runs/", StringComparison.Ordinal) || f.Contains("/runs/", StringComparison.Ordinal)
                                         || f.Contains("__pycache__/", StringComparison.Ordinal) || f.EndsWith(".pyc", StringComparison.Ordinal))];
        Assert.True(junk.Length == 0, $"tracked run output or bytecode: {string.Join(", ", junk.Take(10))}");
    }
}
