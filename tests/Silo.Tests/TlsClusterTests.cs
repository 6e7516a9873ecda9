using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>Mutual TLS between real silo processes and the CLI: only holders of a certificate from the cluster CA get in.</summary>
public sealed class TlsClusterTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private RedisServer? _redis;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-tls-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Only_clients_and_silos_certified_by_the_cluster_ca_get_in()
    {
        string certs = Path.Combine(_work, "certs"), foreign = Path.Combine(_work, "foreign"), expired = Path.Combine(_work, "expired");
        foreach (string folder in new[] { certs, foreign })
        {
            (int made, string text) = await ChildProcess.RunCliAsync(CliTimeout, ["certs", "init", "--out", folder, "--days", "30"]);
            Assert.True(made == 0, text);
        }
        WriteExpiredClient(certs, expired);
        // Redis too speaks only TLS and takes only the cluster's certificates: silos and CLI reach it with theirs.
        _redis = new RedisServer(tlsDirectory: certs);
        using var cluster = new SiloCluster(_redis, $"tls-{Guid.NewGuid():N}");
        // Each silo's silo, gateway and gradient (control and data) ports sit behind recording proxies: every byte between silos and from
        // clients is seen.
        await cluster.StartSiloAsync("silo-a", tlsDirectory: certs, recordTraffic: true);
        await cluster.StartSiloAsync("silo-b", tlsDirectory: certs, recordTraffic: true);

        // With the cluster's client certificate a tiny run is submitted and completes.
        string spec = Path.Combine(_work, "spec.yaml");
        File.WriteAllText(spec, $"training: {{ max_steps: 2, batch_size: 4, micro_batch_size: 4 }}\noutput_dir: {_work}/runs\n");
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", spec, "--watch", "--tls-dir", certs, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        Assert.Contains("Completed", output);

        // A data-parallel run across both silos: its gradients cross the silos' data-plane ports over mutual TLS.
        string parallel = Path.Combine(_work, "parallel.yaml");
        File.WriteAllText(parallel, $"training: {{ max_steps: 4, batch_size: 8, micro_batch_size: 4 }}\nexperiment: {{ world_size: 2 }}\noutput_dir: {_work}/runs\n");
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", parallel, "--watch", "--tls-dir", certs, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        Assert.Contains("Completed", output);
        string metrics = await cluster.MetricsAsync("silo-a") + await cluster.MetricsAsync("silo-b");
        Assert.Matches(@"flatlora_allreduce_bytes_total\{[^}]*\} [1-9]", metrics);
        Assert.True(cluster.Traffic("silo-a").Data.Recorded().Length + cluster.Traffic("silo-b").Data.Recorded().Length > 10_000,
            "the gradients did not cross the data-plane proxies");
        Assert.True(cluster.Traffic("silo-a").Control.Recorded().Length + cluster.Traffic("silo-b").Control.Recorded().Length > 0,
            "no rendezvous crossed the gradient control proxies");

        // The spec, its results, the silos' talk and the gradients crossed the proxies, none of it readable there.
        const string marker = "marker-3f9c1e7a-not-on-the-wire";
        string marked = Path.Combine(_work, "marked.yaml");
        File.WriteAllText(marked, $"experiment: {{ name: {marker} }}\ntraining: {{ max_steps: 2, batch_size: 4, micro_batch_size: 4 }}\noutput_dir: {_work}/runs\n");
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", marked, "--watch", "--tls-dir", certs, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        byte[] wire = [.. new[] { "silo-a", "silo-b" }.SelectMany(name =>
            new[] { cluster.Traffic(name).Silo, cluster.Traffic(name).Gateway, cluster.Traffic(name).Control, cluster.Traffic(name).Data, cluster.Traffic(name).Api }.SelectMany(p => p.Recorded()))];
        Assert.True(cluster.Traffic("silo-a").Silo.Recorded().Length + cluster.Traffic("silo-b").Silo.Recorded().Length > 10_000, "no silo-to-silo traffic was seen");
        Assert.True(wire.Length > 50_000, $"only {wire.Length} bytes crossed the proxies");
        Assert.Equal(-1, wire.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(marker)));
        Assert.Equal(-1, wire.AsSpan().IndexOf("max_steps"u8));

        // Without a certificate, or with one from another CA: refused before any grain call, exit 3, one line naming TLS.
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--tls-dir", foreign] })
        {
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", "--connect-timeout", "10", .. extra, .. cluster.CliConnection]);
            Assert.True(code == 3, $"{string.Join(' ', extra)}: exit {code}\n{output}");
            string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.True(line.Contains("TLS", StringComparison.Ordinal), output);
            Assert.DoesNotContain("   at ", output);
        }
        // An expired certificate: exit 3 like any refusal, said by the CLI before it dials, naming the file and its dates.
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", "--tls-dir", expired, .. cluster.CliConnection]);
        Assert.True(code == 3, output);
        Assert.Contains($"error: could not reach the cluster: TLS: --tls-dir: {Path.Combine(expired, "client.crt")} is valid only from", output);

        // A silo with certificates from another CA does not join: the cluster still counts two silos.
        await cluster.StartSiloAsync("silo-foreign", tlsDirectory: foreign, waitHealthy: false);
        await Task.Delay(TimeSpan.FromSeconds(15));
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["cluster", "--tls-dir", certs, .. cluster.CliConnection]);
        Assert.True(code == 0, output);
        Assert.Contains("2 silo(s)", output);
        Assert.DoesNotContain("silo-foreign", output);
    }

    // A client certificate from the cluster CA whose validity ended a minute ago (it began with the CA's).
    private static void WriteExpiredClient(string caFolder, string folder)
    {
        Directory.CreateDirectory(folder);
        using X509Certificate2 ca = X509Certificate2.CreateFromPemFile(Path.Combine(caFolder, "ca.crt"), Path.Combine(caFolder, "ca.key"));
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=expired", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.Create(ca, ca.NotBefore.ToUniversalTime(), DateTimeOffset.UtcNow.AddMinutes(-1), [1, 2, 3, 4]);
        File.WriteAllText(Path.Combine(folder, "client.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "client.key"), key.ExportPkcs8PrivateKeyPem());
        File.Copy(Path.Combine(caFolder, "ca.crt"), Path.Combine(folder, "ca.crt"));
    }

    public void Dispose()
    {
        _redis?.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
