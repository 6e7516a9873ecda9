using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FlatLora.Trainer.Distributed;

namespace FlatLora.Trainer.Bench;

/// <summary>Options of one worker process of `flatlora bench allreduce`.</summary>
/// <param name="Tls">Mutual TLS on the gRPC ring (the bench's --tls); null for h2c.</param>
public sealed record AllReduceWorkerOptions(int Rank, int Workers, int Megabytes, int Iterations, int Warmup, GradientTls? Tls = null);

/// <summary>What one worker measured: seconds per timed iteration, for the gRPC ring and for raw TCP.</summary>
public sealed record AllReduceWorkerResult(int Rank, long BytesPerRank, double[] RingSeconds, double[] TcpSeconds, bool SumCorrect);

/// <summary>
/// One rank of the all-reduce benchmark, in its own process. It talks to the coordinating process over stdin and
/// stdout: prints "READY {grpc endpoint} {tcp port}", reads "PEERS {endpoints} {ports}" (comma-separated, rank
/// order), runs the ring all-reduce of the production code on an M-MB buffer, then sends the same bytes per rank
/// round a ring of plain TCP sockets, and prints "RESULT {json}".
/// </summary>
public static class AllReduceWorker
{
    private const int FloatsPerMegabyte = 1 << 18;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static async Task RunAsync(AllReduceWorkerOptions options, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var inbox = new GradientInbox();
        await using GradientServer server = await GradientServer.StartAsync(inbox, IPAddress.Loopback, 0, options.Tls, cancellationToken).ConfigureAwait(false);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int tcpPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"READY {server.Endpoint} {tcpPort}")).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        string peers = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("the coordinator closed stdin before sending PEERS");
        string[] parts = peers.Split(' ');
        if (parts.Length != 3 || parts[0] != "PEERS")
            throw new InvalidDataException($"expected 'PEERS endpoints ports', got '{peers}'");
        string[] endpoints = parts[1].Split(',');
        int[] ports = parts[2].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        int next = (options.Rank + 1) % options.Workers;

        float[] buffer = new float[(long)options.Megabytes * FloatsPerMegabyte];
        long bytesPerRank = 2L * (options.Workers - 1) * buffer.Length * sizeof(float) / options.Workers;
        double[] ring = await RingAsync(options, inbox, endpoints[next], buffer, cancellationToken).ConfigureAwait(false);
        // Every rank contributed ones: each element must now be the world size, exactly.
        bool correct = buffer.All(v => v == options.Workers);
        double[] tcp = await RawTcpAsync(options, listener, ports[next], bytesPerRank, cancellationToken).ConfigureAwait(false);

        var result = new AllReduceWorkerResult(options.Rank, bytesPerRank, ring, tcp, correct);
        await output.WriteLineAsync("RESULT " + JsonSerializer.Serialize(result)).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<double[]> RingAsync(AllReduceWorkerOptions options, GradientInbox inbox, string nextEndpoint, float[] buffer,
        CancellationToken cancellationToken)
    {
        RingMailbox mailbox = inbox.Register("bench/allreduce", 1, options.Rank, [0x42]);
        await using var transport = new GrpcRingTransport(nextEndpoint, Timeout, options.Tls);
        var ring = new RingAllReduce(mailbox, transport, options.Workers, Timeout);
        var seconds = new List<double>();
        for (int iteration = 0; iteration < options.Warmup + options.Iterations; iteration++)
        {
            Array.Fill(buffer, 1f);
            var watch = Stopwatch.StartNew();
            await ring.SumAsync(iteration, buffer, fingerprint: 0, cancellationToken).ConfigureAwait(false);
            if (iteration >= options.Warmup)
                seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return [.. seconds];
    }

    /// <summary>The baseline: each rank streams the ring's bytes per rank to the next over one socket while reading as much from the previous.</summary>
    private static async Task<double[]> RawTcpAsync(AllReduceWorkerOptions options, TcpListener listener, int nextPort, long bytes,
        CancellationToken cancellationToken)
    {
        using var toNext = new TcpClient { NoDelay = true };
        Task<TcpClient> accept = listener.AcceptTcpClientAsync(cancellationToken).AsTask();
        await toNext.ConnectAsync(IPAddress.Loopback, nextPort, cancellationToken).ConfigureAwait(false);
        using TcpClient fromPrevious = await accept.ConfigureAwait(false);
        NetworkStream send = toNext.GetStream(), receive = fromPrevious.GetStream();
        byte[] outgoing = new byte[1 << 20], incoming = new byte[1 << 20];
        var seconds = new List<double>();
        for (int iteration = 0; iteration < options.Warmup + options.Iterations; iteration++)
        {
            // A token round the ring first, so every rank starts the timed transfer together.
            await send.WriteAsync(new byte[] { 1 }, cancellationToken).ConfigureAwait(false);
            await receive.ReadExactlyAsync(new byte[1], cancellationToken).ConfigureAwait(false);
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(WriteAsync(send, outgoing, bytes, cancellationToken), ReadAsync(receive, incoming, bytes, cancellationToken)).ConfigureAwait(false);
            if (iteration >= options.Warmup)
                seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return [.. seconds];
    }

    private static async Task WriteAsync(NetworkStream stream, byte[] chunk, long bytes, CancellationToken cancellationToken)
    {
        for (long sent = 0; sent < bytes; sent += chunk.Length)
            await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)), cancellationToken).ConfigureAwait(false);
    }

    private static async Task ReadAsync(NetworkStream stream, byte[] chunk, long bytes, CancellationToken cancellationToken)
    {
        for (long read = 0; read < bytes;)
        {
            int count = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - read)), cancellationToken).ConfigureAwait(false);
            if (count == 0)
                throw new EndOfStreamException($"the previous rank closed its socket after {read} of {bytes} bytes");
            read += count;
        }
    }
}
