using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FlatLora.Tests.Shared;

/// <summary>
/// A real redis-server on a free loopback port for one test class, without persistence. .ci/run installs it
/// (apt-get install redis-server); without it the tests fail with that instruction rather than pass vacuously.
/// Stop silos before disposing this: Orleans' Redis clients hang on shutdown if Redis goes first.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private Process _process;
    private readonly bool _tls;
    private readonly IPAddress _bind;
    private readonly ProcessStartInfo _start;

    /// <param name="tlsDirectory">A `flatlora certs init` folder: Redis speaks only TLS, with silo.crt as its certificate,
    /// and accepts only clients whose certificate chains to ca.crt.</param>
    /// <param name="bindAddress">The address Redis listens on (default loopback; a bridge address for silos in network namespaces).</param>
    public RedisServer(string? tlsDirectory = null, string bindAddress = "127.0.0.1")
    {
        _bind = IPAddress.Parse(bindAddress);
        Port = TestPorts.Next();
        _tls = tlsDirectory is not null;
        string executable = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed; .ci/run installs it with `apt-get install -y redis-server`");
        string port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] listen = tlsDirectory is null ? ["--port", port] :
        [
            "--port", "0", "--tls-port", port, "--tls-auth-clients", "yes",
            "--tls-cert-file", Path.Combine(tlsDirectory, "silo.crt"), "--tls-key-file", Path.Combine(tlsDirectory, "silo.key"),
            "--tls-ca-cert-file", Path.Combine(tlsDirectory, "ca.crt"),
        ];
        _start = new ProcessStartInfo(executable, [.. listen, "--bind", bindAddress, "--save", "", "--appendonly", "no", "--protected-mode", "no"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Launch();
    }

    private Process Launch()
    {
        Process process = Process.Start(_start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Ping())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"redis-server did not start on port {Port} (exit code {(process.HasExited ? process.ExitCode : -1)})");
            Thread.Sleep(50);
        }
        return process;
    }

    /// <summary>
    /// Kills Redis and starts it again on the same port, without persistence: everything it held is gone, and every
    /// client's connection broke (what a restarted Debian-default Redis or an evicting managed cache does).
    /// </summary>
    public void Restart()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
        _process.Dispose();
        _process = Launch();
    }

    public int Port { get; }

    public string ConnectionString => _tls ? $"{_bind}:{Port},ssl=true,abortConnect=false" : $"{_bind}:{Port}";

    // Over TLS it is enough that the port accepts connections (a PING would need a client certificate).
    private bool Ping()
    {
        try
        {
            if (_tls)
            {
                using var probe = new TcpClient();
                probe.Connect(_bind, Port);
                return true;
            }
            using var client = new TcpClient();
            client.Connect(_bind, Port);
            NetworkStream stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            int read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Everything Redis holds, as one uncompressed RDB snapshot (redis-cli --rdb), for a test to search for bytes that
    /// must never be stored (a secret). Plaintext Redis only.
    /// </summary>
    public byte[] Dump()
    {
        if (_tls)
            throw new InvalidOperationException("Dump reads a plaintext Redis only");
        string file = Path.Combine(Path.GetTempPath(), $"redis-dump-{Guid.NewGuid():N}.rdb");
        try
        {
            RedisCli("CONFIG", "SET", "rdbcompression", "no");
            RedisCli("--rdb", file);
            return File.ReadAllBytes(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// How many silos Orleans' Redis membership table lists as active for <paramref name="clusterId"/> (service id
    /// the same, as the test clusters set it): what a client that finds gateways through Redis would see.
    /// </summary>
    public int MembershipRows(string clusterId)
    {
        string rows = RedisCli("--raw", "HVALS", $"{clusterId}/members/{clusterId}");
        return rows.Split('\n').Count(row => row.Contains("\"Status\":3", StringComparison.Ordinal) || row.Contains("\"Status\":\"Active\"", StringComparison.Ordinal));
    }

    private string RedisCli(params string[] args)
    {
        string port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using Process cli = Process.Start(new ProcessStartInfo("redis-cli", ["-h", _bind.ToString(), "-p", port, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        Task<string> output = cli.StandardOutput.ReadToEndAsync();
        string error = cli.StandardError.ReadToEnd();
        if (!cli.WaitForExit(30_000) || cli.ExitCode != 0)
            throw new InvalidOperationException($"redis-cli {string.Join(' ', args)} failed: {error}");
        return output.Result;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
