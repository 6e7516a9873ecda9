using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FlatLora.Collectives;
using FlatLora.Collectives.Tcp;

namespace FlatLora.Benchmarks.Training;

/// <summary>Options of one worker process of `flatlora bench allreduce`.</summary>
/// <param name="Sealing">How the ring's frames are sealed (the bench's --sealing): encrypted, or authenticated only.</param>
/// <param name="SliceFloats">Floats per pipelined slice of the ring.</param>
/// <param name="Listen">The address this worker listens on (its namespace's, with `bench allreduce --netns`).</param>
/// <param name="Wire">bf16 halves the ring's bytes; the raw TCP baseline still moves the fp32 byte count.</param>
public sealed record AllReduceWorkerOptions(int Rank, int Workers, int Megabytes, int Iterations, int Warmup, FrameSealing Sealing = FrameSealing.Encrypted,
    int SliceFloats = RingAllReduce.DefaultSliceFloats, IPAddress? Listen = null, WireFormat Wire = WireFormat.Fp32);

/// <summary>What one worker measured: seconds per timed iteration, for the ring and for raw TCP.</summary>
public sealed record AllReduceWorkerResult(int Rank, long BytesPerRank, double[] RingSeconds, double[] TcpSeconds, bool SumCorrect);

/// <summary>
/// One rank of the all-reduce benchmark, in its own process. It talks to the coordinating process over stdin and
/// stdout: prints "READY {data-plane ip:port} {tcp ip:port}", reads "PEERS {data-plane endpoints} {tcp endpoints}"
/// (comma-separated, rank order), runs the ring all-reduce of the production code (data-plane listener, HMAC handshake,
/// sealed frames, pipelined ring) on an M-MB buffer, then sends the same bytes per rank round a ring of plain TCP sockets, and prints
/// "RESULT {json}".
/// </summary>
public static class AllReduceWorker
{
    private const int FloatsPerMegabyte = 1 << 18;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static async Task RunAsync(AllReduceWorkerOptions options, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var inbox = new GradientInbox();
        IPAddress listen = options.Listen ?? IPAddress.Loopback;
        using DataPlaneListener dataPlane = DataPlaneListener.Start(inbox, new IPEndPoint(listen, 0), options.Sealing);
        using var listener = new TcpListener(listen, 0);
        listener.Start();
        await output.WriteLineAsync($"READY {dataPlane.LocalEndpoint} {listener.LocalEndpoint}").ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        string peers = await input.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("the coordinator closed stdin before sending PEERS");
        string[] parts = peers.Split(' ');
        if (parts.Length != 3 || parts[0] != "PEERS")
            throw new InvalidDataException($"expected 'PEERS data-plane-ports tcp-ports', got '{peers}'");
        IPEndPoint[] dataPlanes = parts[1].Split(',').Select(IPEndPoint.Parse).ToArray();
        IPEndPoint[] tcpPeers = parts[2].Split(',').Select(IPEndPoint.Parse).ToArray();
        int next = (options.Rank + 1) % options.Workers;

        float[] buffer = new float[(long)options.Megabytes * FloatsPerMegabyte];
        long bytesPerRank = 2L * (options.Workers - 1) * buffer.Length * sizeof(float) / options.Workers;
        double[] ring = await Task.Run(() => Ring(options, inbox, dataPlanes[next], buffer, cancellationToken), cancellationToken).ConfigureAwait(false);
        // Every rank contributed ones: each element must now be the world size, exactly.
        bool correct = buffer.All(v => v == options.Workers);
        double[] tcp = await RawTcpAsync(options, listener, tcpPeers[next], bytesPerRank, cancellationToken).ConfigureAwait(false);

        var result = new AllReduceWorkerResult(options.Rank, bytesPerRank, ring, tcp, correct);
        await output.WriteLineAsync("RESULT " + JsonSerializer.Serialize(result)).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static double[] Ring(AllReduceWorkerOptions options, GradientInbox inbox, IPEndPoint next, float[] buffer, CancellationToken cancellationToken)
    {
        // The workers share a fixed cluster key: the bench has no silo configuration to read one from; the keys derived
        // from it, the handshake and the sealing cost what they cost on a cluster.
        byte[] secret = System.Security.Cryptography.SHA256.HashData("bench/allreduce"u8);
        var edge = new RingEdge("bench/allreduce", 1, options.Rank, (options.Rank + 1) % options.Workers, secret);
        using RingMailbox mailbox = inbox.Register(edge.RunKey, edge.Attempt, options.Rank, options.Workers, secret);
        using var transport = new TcpRingTransport(next, edge, Timeout, options.Sealing, options.SliceFloats, options.Wire);
        using var ring = new RingAllReduce(mailbox, transport, Timeout, options.SliceFloats, options.Wire);
        var seconds = new List<double>();
        for (int iteration = 0; iteration < options.Warmup + options.Iterations; iteration++)
        {
            Array.Fill(buffer, 1f);
            var watch = Stopwatch.StartNew();
            ring.Sum(iteration, 0, buffer, fingerprint: 0, cancellationToken);
            if (iteration >= options.Warmup)
                seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return [.. seconds];
    }

    /// <summary>The baseline: each rank streams the ring's bytes per rank to the next over one socket while reading as much from the previous.</summary>
    private static async Task<double[]> RawTcpAsync(AllReduceWorkerOptions options, TcpListener listener, IPEndPoint next, long bytes,
        CancellationToken cancellationToken)
    {
        using var toNext = new TcpClient { NoDelay = true };
        Task<TcpClient> accept = listener.AcceptTcpClientAsync(cancellationToken).AsTask();
        await toNext.ConnectAsync(next, cancellationToken).ConfigureAwait(false);
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
