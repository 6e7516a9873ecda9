using System.Diagnostics;
using System.Text.Json;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// A real OpenID Connect issuer (npm's oidc-provider, run by node from tests/Silo.Tests/Oidc/issuer.mjs) on a free
/// loopback port: it publishes its discovery document and keys, and hands out signed JWT access tokens by the
/// client-credentials grant. Installed once into a cache folder with npm (never committed).
/// </summary>
internal sealed class OidcIssuer : IDisposable
{
    private const string Version = "9.13.3";
    private static readonly Lock InstallGate = new();
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    public OidcIssuer()
    {
        string root = Install();
        Port = TestPorts.Next();
        var start = new ProcessStartInfo("node", [Path.Combine(root, "issuer.mjs"), Port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start the OIDC issuer");
        var ready = new TaskCompletionSource();
        _process.OutputDataReceived += (_, e) =>
        {
            lock (_output)
                _output.AppendLine(e.Data);
            if (e.Data == "READY")
                ready.TrySetResult();
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_output)
                _output.AppendLine(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException($"the OIDC issuer did not start on port {Port}:\n{_output}");
    }

    public int Port { get; }

    public string Authority => $"http://127.0.0.1:{Port}";

    /// <summary>An access token for client (user) <paramref name="client"/>, for <paramref name="audience"/>.</summary>
    public async Task<string> TokenAsync(string client, string audience = "urn:flatlora:api")
    {
        using var http = new HttpClient();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = client,
            ["client_secret"] = $"{client}-secret",
            ["resource"] = audience,
            ["scope"] = "api",
        });
        using HttpResponseMessage response = await http.PostAsync(new Uri($"{Authority}/token"), form);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"the issuer refused a token for {client}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private static string Install()
    {
        string root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flatlora", "tools", $"oidc-provider-{Version}");
        lock (InstallGate)
        {
            if (!Directory.Exists(Path.Combine(root, "node_modules", "oidc-provider")))
            {
                string staging = root + $".tmp-{Environment.ProcessId}";
                Directory.CreateDirectory(staging);
                ExternalTool.RunChecked("npm", ["install", "--prefix", staging, "--no-audit", "--no-fund", "--silent", $"oidc-provider@{Version}"], staging, TimeSpan.FromMinutes(5));
                if (Directory.Exists(root))
                    Directory.Delete(root, recursive: true);
                Directory.Move(staging, root);
            }
            // The script runs from the install folder, where node resolves oidc-provider and jose.
            File.Copy(Path.Combine(RepositoryPaths.Root, "tests", "Silo.Tests", "Oidc", "issuer.mjs"), Path.Combine(root, "issuer.mjs"), overwrite: true);
            return root;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
