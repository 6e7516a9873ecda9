using System.Diagnostics;
using System.Net.Sockets;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// Azurite's queue service (Microsoft's Azure Storage emulator, from npm) on a free loopback port, for the persistent
/// progress streams. Installed once into a cache folder with npm (never committed); .ci/run installs npm.
/// </summary>
internal sealed class AzuriteServer : IDisposable
{
    private const string Version = "3.35.0";
    // Azurite's well-known development account: a public constant of the emulator, not a secret.
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly Lock InstallGate = new();
    private readonly Process _process;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "flatlora-azurite", Guid.NewGuid().ToString("N"));

    public AzuriteServer()
    {
        string main = Install();
        Port = TestPorts.Next();
        Directory.CreateDirectory(_data);
        var start = new ProcessStartInfo("node", [main, "--queueHost", "127.0.0.1", "--queuePort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", _data, "--silent", "--skipApiVersionCheck", "--disableTelemetry"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start Azurite");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!Accepts())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"Azurite's queue service did not start on port {Port}");
            Thread.Sleep(100);
        }
    }

    public int Port { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};QueueEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    private static string Install()
    {
        string root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flatlora", "tools", $"azurite-{Version}");
        string main = Path.Combine(root, "node_modules", "azurite", "dist", "src", "queue", "main.js");
        lock (InstallGate)
        {
            if (File.Exists(main))
                return main;
            string staging = root + $".tmp-{Environment.ProcessId}";
            Directory.CreateDirectory(staging);
            ExternalTool.RunChecked("npm", ["install", "--prefix", staging, "--no-audit", "--no-fund", "--silent", $"azurite@{Version}"], staging, TimeSpan.FromMinutes(5));
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
            Directory.Move(staging, root);
            return File.Exists(main) ? main : throw new InvalidOperationException($"npm installed azurite@{Version} without {main}");
        }
    }

    private bool Accepts()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Azurite may still hold a file for a moment: the temp folder is fine to leave.
        }
    }
}
