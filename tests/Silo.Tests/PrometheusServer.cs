using System.Diagnostics;
using System.Globalization;
using System.Text;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// A real Prometheus (Debian package; .ci/run installs it) scraping the given /metrics targets every second under
/// job "flatlora", evaluating the chart's alert rules, with its own storage folder. Also runs promtool against it.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flatlora-prometheus", Guid.NewGuid().ToString("N"));

    public PrometheusServer(IEnumerable<int> metricsPorts, string rulesFile)
    {
        string executable = Find("prometheus");
        Directory.CreateDirectory(_directory);
        string targets = string.Join(", ", metricsPorts.Select(p => $"'127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}'"));
        string config = Path.Combine(_directory, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: ['{rulesFile}']
            scrape_configs:
              - job_name: flatlora
                static_configs:
                  - targets: [{targets}]
            """);
        Port = TestPorts.Next();
        var start = new ProcessStartInfo(executable, [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_directory, "data")}",
            $"--web.listen-address=127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}", "--log.level=warn"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"prometheus exited during start:\n{Log}");
            try
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri(Url + "/-/ready"));
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"prometheus was not ready after {timeout}:\n{Log}");
            await Task.Delay(200);
        }
    }

    public async Task<string> GetAsync(string pathAndQuery)
    {
        using var client = new HttpClient();
        return await client.GetStringAsync(new Uri(Url + pathAndQuery));
    }

    /// <summary>Runs promtool with the arguments; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> PromtoolAsync(params string[] args) => ExternalTool.RunAsync(Find("promtool"), args);

    private static string Find(string tool) =>
        new[] { $"/usr/bin/{tool}", $"/usr/local/bin/{tool}" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{tool} is not installed; .ci/run installs it with `apt-get install -y --no-install-recommends prometheus`");

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
