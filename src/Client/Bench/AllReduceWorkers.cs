using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FlatLora.Benchmarks.Network;
using FlatLora.Benchmarks.Training;

namespace FlatLora.Client.Bench;

/// <summary>What `bench allreduce` asks of each worker process.</summary>
/// <param name="Hosts">Run worker r in network namespace r (its own address); null: every worker on loopback.</param>
/// <param name="Wire">"fp32" or "bf16" on the ring.</param>
/// <param name="Sealing">"encrypted" or "authenticated" frames.</param>
internal sealed record AllReduceRun(int Workers, int Megabytes, int Iterations, int Warmup, int SliceKb, NetworkNamespaces? Hosts,
    string Wire = "fp32", string Sealing = "encrypted");

/// <summary>
/// The worker processes of `bench allreduce`: this same program, each in its own process (and, with hosts, its own
/// network namespace). Each prints where it listens; every one is then told the others' addresses, runs the ring and
/// the raw TCP baseline, and prints its timings.
/// </summary>
internal static class AllReduceWorkers
{
    public static async Task<IReadOnlyList<AllReduceWorkerResult>> RunAsync(AllReduceRun run, CancellationToken cancellationToken)
    {
        var processes = Enumerable.Range(0, run.Workers).Select(rank => Start(rank, run)).ToList();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var ready = new List<string[]>();
            foreach (Process process in processes)
                ready.Add((await ReadLineAsync(process, "READY", timeout.Token).ConfigureAwait(false)).Split(' '));
            string peers = $"PEERS {string.Join(',', ready.Select(r => r[0]))} {string.Join(',', ready.Select(r => r[1]))}";
            foreach (Process process in processes)
            {
                await process.StandardInput.WriteLineAsync(peers).ConfigureAwait(false);
                await process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            // 100 MB/s at the least (a shaped 1 Gbit/s link), plus start-up: anything slower is a hang, not a measurement.
            using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            running.CancelAfter(TimeSpan.FromSeconds(60 + 2.0 * (run.Iterations + run.Warmup) * run.Megabytes / 100 * 2));
            var results = new List<AllReduceWorkerResult>();
            foreach (Process process in processes)
                results.Add(JsonSerializer.Deserialize<AllReduceWorkerResult>(await ReadLineAsync(process, "RESULT", running.Token).ConfigureAwait(false))!);
            return results;
        }
        finally
        {
            foreach (Process process in processes)
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
                process.Dispose();
            }
        }
    }

    private static async Task<string> ReadLineAsync(Process process, string tag, CancellationToken cancellationToken)
    {
        while (true)
        {
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!process.HasExited)
            {
                throw new TimeoutException($"worker {process.Id} sent no {tag} line in time");
            }
            if (line is null)
            {
                string error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException($"worker {process.Id} exited before {tag}: {error.Trim()}");
            }
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                return line[(tag.Length + 1)..];
        }
    }

    /// <summary>This same program, whether it runs as an apphost or as `dotnet flatlora.dll`, in the worker's namespace if any.</summary>
    private static Process Start(int rank, AllReduceRun run)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program to start for the workers");
        var command = new List<string>();
        if (run.Hosts is not null)
            command.AddRange(["ip", "netns", "exec", run.Hosts.Host(rank).Namespace]);
        command.Add(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            command.Add(typeof(AllReduceWorkers).Assembly.Location);
        command.AddRange(["bench", "allreduce-worker", "--rank", Invariant(rank), "--workers", Invariant(run.Workers), "--mb", Invariant(run.Megabytes),
            "--iterations", Invariant(run.Iterations), "--warmup", Invariant(run.Warmup), "--slice-kb", Invariant(run.SliceKb),
            "--listen", run.Hosts?.Host(rank).Ip ?? "127.0.0.1", "--wire", run.Wire, "--sealing", run.Sealing]);
        var start = new ProcessStartInfo(command[0], command.Skip(1))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start worker {rank}");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
