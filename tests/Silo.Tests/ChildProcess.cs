using FlatLora.Tests.Shared;
using System.Diagnostics;
using System.Text;

namespace FlatLora.Silo.Tests;

/// <summary>A process of this repository's build (silo or CLI) with its output captured.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>Starts `dotnet {assembly}` from src/{project}/bin/{configuration}/net10.0 of this checkout.</summary>
    /// <param name="networkNamespace">Run it inside this Linux network namespace (`ip netns exec`, which becomes the process).</param>
    /// <param name="environment">Variables set for the process, on top of this one's (HF_HUB_CACHE, ...).</param>
    public static ChildProcess Start(string project, string assembly, IEnumerable<string> args, string? networkNamespace = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        string path = Path.Combine(RepositoryPaths.Root, "src", project, "bin", Configuration, "net10.0", assembly);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is not built; build the solution first", path);
        string[] command = networkNamespace is null ? ["dotnet", path, .. args] : ["ip", "netns", "exec", networkNamespace, "dotnet", path, .. args];
        var start = new ProcessStartInfo(command[0], command[1..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>Runs the CLI to completion; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunCliAsync(TimeSpan timeout, params string[] args) => RunCliAsync(timeout, null, args);

    /// <summary>Runs the CLI to completion with <paramref name="environment"/> set; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunCliAsync(TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using ChildProcess cli = Start("Client", "flatlora.dll", args, environment: environment);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await cli._process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            cli._process.Kill(entireProcessTree: true);
            throw new TimeoutException($"flatlora {string.Join(' ', args)} did not finish in {timeout}; output:\n{cli.Output}");
        }
        cli._process.WaitForExit();   // drain the output readers
        return (cli._process.ExitCode, cli.Output);
    }

    /// <summary>Waits for the process to exit by itself; returns its exit code, or null if it still runs after the timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        _process.WaitForExit();   // drain the output readers
        return _process.ExitCode;
    }

    /// <summary>SIGTERM (a graceful shutdown), then waits; kills it if it does not stop in time.</summary>
    public void Stop(TimeSpan timeout)
    {
        if (_process.HasExited)
            return;
        using (Process term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            term.WaitForExit();
        if (!_process.WaitForExit(timeout))
            _process.Kill(entireProcessTree: true);
    }

    /// <summary>SIGINT, as Ctrl+C sends it.</summary>
    public void Interrupt()
    {
        using Process interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        interrupt.WaitForExit();
    }

    /// <summary>SIGKILL: the process dies without any chance to clean up.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
}
