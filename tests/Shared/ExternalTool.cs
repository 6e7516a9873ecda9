using System.Diagnostics;

namespace FlatLora.Tests.Shared;

/// <summary>Runs a command-line tool the tests need (npm, helm, node, promtool, gcc) and captures its output.</summary>
public static class ExternalTool
{
    /// <summary>Exit code and stdout+stderr; a missing tool or a run past the timeout throws naming the command.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IEnumerable<string> args, string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(command, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? RepositoryPaths.Root,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {command} (.ci/run installs what the tests need): {e.Message}", e);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} {string.Join(' ', args)} did not finish in {timeout ?? TimeSpan.FromMinutes(2)}");
            }
            return (process.ExitCode, await stdout + await stderr);
        }
    }

    /// <summary>As <see cref="RunAsync"/>, for synchronous callers.</summary>
    public static (int ExitCode, string Output) Run(string command, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null) =>
        RunAsync(command, args, workingDirectory, timeout).GetAwaiter().GetResult();

    /// <summary>Runs and returns stdout+stderr; a non-zero exit throws with the output.</summary>
    public static string RunChecked(string command, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        (int exit, string output) = Run(command, args, workingDirectory, timeout);
        return exit == 0 ? output : throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed ({exit}):\n{output}");
    }
}
