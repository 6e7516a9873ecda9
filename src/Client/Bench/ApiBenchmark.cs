using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Abstractions.Experiments;
using FlatLora.Abstractions.Security;
using FlatLora.Api.Authorization;
using FlatLora.Api.Hosting;
using FlatLora.Api.Identity;
using FlatLora.Client.Cluster;
using FlatLora.Grains;
using FlatLora.Grains.Hosting;
using FlatLora.Spec;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using V1 = FlatLora.Api.V1;

namespace FlatLora.Client.Bench;

/// <summary>What `flatlora bench api` measures with: how many experiments the silo holds, how many clients, how long.</summary>
/// <param name="Rate">Requests per second over all clients (each paces itself to its share); 0: as fast as the server answers.</param>
internal sealed record ApiBenchmarkOptions(int Experiments, int Clients, TimeSpan Duration, double Rate = 0, double ListShare = 0.2);

/// <summary>One phase of the benchmark: its transport and identification, the requests it made and their latency.</summary>
internal sealed record ApiPhaseReport(string Phase, long Requests, double RequestsPerSecond, double MsP50, double MsP99, double MsMax, long Errors);

internal sealed record ApiBenchmarkReport(int Experiments, int Clients, double SecondsPerPhase, double OfferedRate, double SeedingSeconds,
    IReadOnlyList<ApiPhaseReport> Phases, double IdentifyAndAuthorizeMicroseconds);

/// <summary>
/// `flatlora bench api`: an in-process silo holding N experiments (each owned by alice@nlp, ended before they
/// trained, as a shared cluster's history is), serving the real API; C clients, each on its own channel, send a mix of
/// single-experiment Get calls and 50-entry List pages for a while. Once over TLS with client certificates and the
/// policy (what a cluster runs), once over plaintext with authentication off, in the same run. It also times the
/// identification and policy decision alone (certificate → caller → decision).
/// </summary>
internal static class ApiBenchmark
{
    public static async Task<ApiBenchmarkReport> RunAsync(ApiBenchmarkOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        string certs = Path.Combine(Path.GetTempPath(), $"flatlora-bench-api-{Guid.NewGuid():N}");
        try
        {
            ClusterCertificates.Init(certs, [], days: 1);
            ClusterCertificates.IssueClient(certs, "alice", "nlp", "user", Path.Combine(certs, "alice"), days: 1);
            ClusterTls tls = ClusterTls.FromFolder(certs, ClusterCertificates.SiloName, "bench");
            var phases = new List<ApiPhaseReport>();
            double seeding = 0;
            // A fresh silo per phase, each holding the same experiments: one identifies callers by certificate, one not at all.
            foreach ((string phase, bool secure) in new[] { ("tls+certificate", true), ("plaintext+none", false) })
            {
                int[] ports = LoopbackPorts.Take(3);
                await using WebApplication host = await StartAsync(ports, secure ? tls : null, cancellationToken).ConfigureAwait(false);
                var watch = Stopwatch.StartNew();
                string[] ids = await SeedAsync(host.Services.GetRequiredService<IClusterClient>(), options.Experiments, progress, cancellationToken).ConfigureAwait(false);
                if (secure)
                    seeding = watch.Elapsed.TotalSeconds;
                progress($"{phase}: {options.Clients} clients for {options.Duration.TotalSeconds:F0} s...");
                phases.Add(await LoadAsync(phase, $"127.0.0.1:{ports[2]}", secure ? Path.Combine(certs, "alice") : null, ids, options, cancellationToken).ConfigureAwait(false));
                await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            using X509Certificate2 alice = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(certs, "alice", "client.crt")));
            return new ApiBenchmarkReport(options.Experiments, options.Clients, options.Duration.TotalSeconds, options.Rate, seeding, phases, IdentifyAndAuthorize(alice));
        }
        finally
        {
            Directory.Delete(certs, recursive: true);
        }
    }

    // One silo and its API: over mutual TLS with certificate identities, or over plaintext without authentication.
    private static async Task<WebApplication> StartAsync(int[] ports, ClusterTls? tls, CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(ports[0], ports[1], serviceId: "bench-api", clusterId: "bench-api");
            silo.AddMemoryGrainStorage(StorageNames.Default);
            silo.AddFlatLoraGrains(o => o.CpuSlots = 1);
        });
        builder.Services.AddFlatLoraApi(builder.Configuration, tls is null ? AuthMode.None : AuthMode.Certificate);
        builder.WebHost.UseUrls();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenApi(new IPEndPoint(IPAddress.Loopback, ports[2]), tls is null ? null
            : new ApiTls(tls.Certificate, certificate => ClusterTls.ChainsTo(certificate, tls.Authority), RequireClientCertificate: true)));
        WebApplication host = builder.Build();
        host.MapFlatLoraApi();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return host;
    }

    // Experiments that never train (two ranks asked for, at least two, on a silo with one device), cancelled at once.
    private static async Task<string[]> SeedAsync(IClusterClient cluster, int count, Action<string> progress, CancellationToken cancellationToken)
    {
        TrainSpec spec = TrainPresets.Tiny() with
        {
            Training = TrainPresets.Tiny().Training with { BatchSize = 2, MicroBatchSize = 1 },
            Experiment = new ExperimentSection { Seeds = [1], WorldSize = 2, MinWorldSize = 2 },
            OutputDir = Path.Combine(Path.GetTempPath(), "flatlora-bench-api-runs"),
        };
        var owner = new RunOwner("alice", "nlp");
        string[] ids = [.. Enumerable.Range(0, count).Select(i => $"exp-bench-{i:D6}")];
        int done = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (id, _) =>
        {
            IExperimentGrain experiment = cluster.GetGrain<IExperimentGrain>(id);
            await experiment.SubmitAsync(new ExperimentRequest { Spec = spec, Owner = owner }).ConfigureAwait(false);
            // Ended, as most of a shared cluster's history is: nothing of it waits for devices or keeps timers.
            await experiment.CancelAsync().ConfigureAwait(false);
            if (Interlocked.Increment(ref done) % 2000 == 0)
                progress($"  {done}/{count} experiments held");
        }).ConfigureAwait(false);
        return ids;
    }

    private static async Task<ApiPhaseReport> LoadAsync(string phase, string endpoint, string? tlsDir, string[] ids, ApiBenchmarkOptions options, CancellationToken cancellationToken)
    {
        var channels = Enumerable.Range(0, options.Clients).Select(_ => ApiChannel.Create(new ApiOptions { Api = endpoint, TlsDirectory = tlsDir, Token = null })).ToList();
        try
        {
            // Each client connects (its TLS handshake included) before the clock starts.
            await Task.WhenAll(channels.Select(c => new V1.Cluster.ClusterClient(c).WhoAmIAsync(new V1.WhoAmIRequest(), cancellationToken: cancellationToken).ResponseAsync))
                .ConfigureAwait(false);
            var latencies = new List<double>[options.Clients];
            long errors = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(channels.Select((channel, c) => Task.Run(async () =>
            {
                var experiments = new V1.Experiments.ExperimentsClient(channel);
                var random = new Random(c);
                var mine = latencies[c] = [];
                // Paced clients send on a fixed schedule (an open load: a slow answer does not slow the offer), staggered.
                TimeSpan interval = options.Rate > 0 ? TimeSpan.FromSeconds(options.Clients / options.Rate) : TimeSpan.Zero;
                TimeSpan next = interval * random.NextDouble();
                while (clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
                {
                    if (interval > TimeSpan.Zero)
                    {
                        if (next > clock.Elapsed)
                            await Task.Delay(next - clock.Elapsed, cancellationToken).ConfigureAwait(false);
                        next += interval;
                    }
                    long start = Stopwatch.GetTimestamp();
                    try
                    {
                        if (random.NextDouble() < options.ListShare)
                            await experiments.ListAsync(new V1.ListRequest { PageSize = 50, PageToken = (random.Next(ids.Length / 50) * 50).ToString(System.Globalization.CultureInfo.InvariantCulture) },
                                cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
                        else
                            await experiments.GetAsync(new V1.GetExperimentRequest { Id = ids[random.Next(ids.Length)] }, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
                        mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                    catch (Grpc.Core.RpcException)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }, cancellationToken))).ConfigureAwait(false);
            double seconds = clock.Elapsed.TotalSeconds;
            double[] all = [.. latencies.SelectMany(l => l).Order()];
            double Quantile(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
            return new ApiPhaseReport(phase, all.Length, all.Length / seconds, Quantile(0.5), Quantile(0.99), all.Length == 0 ? double.NaN : all[^1], errors);
        }
        finally
        {
            foreach (GrpcChannel channel in channels)
                channel.Dispose();
        }
    }

    // The server's own cost of each request's identity and policy: caller from the verified certificate, then the decision.
    private static double IdentifyAndAuthorize(X509Certificate2 certificate)
    {
        var settings = new AuthSettings { Projects = new(StringComparer.Ordinal) { ["nlp"] = new ProjectSettings { Members = ["alice"] } } };
        var owner = new RunOwner("alice", "nlp");
        const int rounds = 100_000;
        for (int i = 0; i < 1000; i++)
            AccessPolicy.Decide(CertificateCaller.From(certificate), ApiAction.Read, owner, settings, "exp-1");
        var watch = Stopwatch.StartNew();
        bool allowed = true;
        for (int i = 0; i < rounds; i++)
            allowed &= AccessPolicy.Decide(CertificateCaller.From(certificate), ApiAction.Read, owner, settings, "exp-1").Allowed;
        return allowed ? watch.Elapsed.TotalMilliseconds * 1000 / rounds : throw new InvalidOperationException("the policy refused the bench's owner");
    }
}
