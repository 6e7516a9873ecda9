using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FlatLora.Trainer.Hardware;

/// <summary>
/// Which libtorch this process runs on. By default TorchSharp's native library binds to the libtorch the dynamic
/// linker finds (LD_LIBRARY_PATH first, then the CPU libtorch next to the program). An explicit folder
/// (<c>--libtorch DIR</c> or $FLATLORA_LIBTORCH), for example PyTorch's <c>torch/lib</c> with CUDA, is loaded
/// before TorchSharp starts: the linker then reuses those libraries by their names.
/// </summary>
public static class LibTorchLocator
{
    public const string Variable = "FLATLORA_LIBTORCH";

    // Dependency order: each library's own dependencies are already loaded when it is.
    private static readonly string[] LoadOrder = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];
    private static readonly Lock Gate = new();
    private static string? _preloaded;

    /// <summary>The folder loaded by <see cref="Preload"/>, if any.</summary>
    public static string? Preloaded => _preloaded;

    /// <summary>
    /// Loads libtorch from <paramref name="directory"/> (or $FLATLORA_LIBTORCH when null). Call before the first
    /// torch operation; it does nothing when neither is set. Throws naming the folder when it holds no libtorch.
    /// </summary>
    public static void Preload(string? directory = null)
    {
        string source = directory is null ? $"${Variable}" : "--libtorch";
        directory ??= Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(directory))
            return;
        lock (Gate)
        {
            if (_preloaded is not null)
            {
                if (Path.GetFullPath(directory) != _preloaded)
                    throw new InvalidOperationException($"libtorch was already loaded from {_preloaded}; a process can use one libtorch");
                return;
            }
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"{source}: libtorch folder {directory} does not exist");
            if (!File.Exists(Path.Combine(directory, "libtorch.so")))
                throw new FileNotFoundException($"{source}: {directory} holds no libtorch.so. Point it at libtorch's lib folder, or at PyTorch's: " +
                    "python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))' prints the torch folder, and lib is inside it.");
            (string? loaded, _) = LoadedLibraries();
            if (loaded is not null && Path.GetDirectoryName(loaded) != Path.GetFullPath(directory).TrimEnd('/'))
                throw new InvalidOperationException($"{source}: libtorch is already loaded from {Path.GetDirectoryName(loaded)}; " +
                    "a process can use one libtorch, so choose it before the first torch operation");
            foreach (string library in LoadOrder)
            {
                string path = Path.Combine(directory, library);
                if (!File.Exists(path))
                    continue;
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (DllNotFoundException e)
                {
                    throw new DllNotFoundException($"{source}: {path} would not load ({e.Message}); is it built for this machine's CUDA and C++ runtime?", e);
                }
            }
            _preloaded = Path.GetFullPath(directory);
        }
    }

    /// <summary>
    /// Why CUDA is unavailable, as far as this process can tell: the libtorch it loaded, the folders it could have
    /// used, and whether each holds the CUDA part of libtorch. For error messages.
    /// </summary>
    public static string CudaDiagnosis()
    {
        var lines = new List<string>();
        (string? cpu, string? cuda) = LoadedLibraries();
        lines.Add(cpu is null
            ? "- no libtorch is loaded yet in this process"
            : $"- loaded: {Path.GetDirectoryName(cpu)} ({(cuda is null ? "CPU only: libtorch_cuda.so is not loaded" : "with libtorch_cuda.so")})");
        lines.Add(Describe($"${Variable}", Environment.GetEnvironmentVariable(Variable)));
        foreach (string entry in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            lines.Add(Describe("LD_LIBRARY_PATH", entry));
        if (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is null)
            lines.Add("- LD_LIBRARY_PATH: not set");
        lines.Add(PythonTorchLib() is string torchLib ? Describe("PyTorch (python3)", torchLib) : "- PyTorch: python3 cannot import torch");
        lines.Add(File.Exists("/proc/driver/nvidia/version") ? "- NVIDIA driver: present" : "- NVIDIA driver: /proc/driver/nvidia/version is missing (no GPU or no driver)");
        return string.Join(Environment.NewLine, lines);
    }

    private static string Describe(string source, string? directory) => string.IsNullOrWhiteSpace(directory)
        ? $"- {source}: not set"
        : !Directory.Exists(directory)
            ? $"- {source}: {directory} does not exist"
            : $"- {source}: {directory} ({(File.Exists(Path.Combine(directory, "libtorch_cuda.so")) ? "has libtorch_cuda.so" : File.Exists(Path.Combine(directory, "libtorch.so")) ? "libtorch without CUDA" : "no libtorch")})";

    /// <summary>The folder of the libtorch this process loaded, if any.</summary>
    public static string? LoadedDirectory() => LoadedLibraries().Cpu is string cpu ? Path.GetDirectoryName(cpu) : null;

    /// <summary>Paths of the loaded libtorch_cpu.so and libtorch_cuda.so, from /proc/self/maps.</summary>
    private static (string? Cpu, string? Cuda) LoadedLibraries()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
            return (null, null);
        string? cpu = null, cuda = null;
        foreach (string line in File.ReadLines(maps))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
                continue;
            string path = line[slash..];
            if (path.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal))
                cpu ??= path;
            else if (path.EndsWith("/libtorch_cuda.so", StringComparison.Ordinal))
                cuda ??= path;
        }
        return (cpu, cuda);
    }

    private static string? PythonTorchLib()
    {
        try
        {
            var start = new ProcessStartInfo("python3", ["-c", "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using Process process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(20_000) && process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;   // no python3
        }
    }
}
