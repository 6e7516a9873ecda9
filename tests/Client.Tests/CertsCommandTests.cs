using System.Security.Cryptography.X509Certificates;
using FlatLora.Abstractions.Security;
using FlatLora.Client.Commands;

namespace FlatLora.Client.Tests;

public class CertsCommandTests
{
    [Fact]
    public async Task Init_writes_a_ca_a_silo_and_a_client_certificate_that_chain_to_it_and_client_issues_more()
    {
        using var dir = new TempDirectory();
        var (code, _, error) = await CliRunner.RunAsync("certs", "init", "--out", dir.File("certs"), "--dns", "silo-0.flatlora", "--days", "10");
        Assert.True(code == ExitCodes.Success, error);
        using X509Certificate2 ca = X509Certificate2.CreateFromPem(File.ReadAllText(dir.File("certs/ca.crt")));
        ClusterTls silo = ClusterTls.FromFolder(dir.File("certs"), "silo", "test");
        ClusterTls client = ClusterTls.FromFolder(dir.File("certs"), "client", "test");
        Assert.True(silo.Certificate.HasPrivateKey && client.Certificate.HasPrivateKey);
        Assert.Contains("silo-0.flatlora", silo.Certificate.GetNameInfo(X509NameType.DnsName, false) + string.Join(",",
            silo.Certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())));
        Assert.InRange(client.Certificate.NotAfter, DateTime.Now.AddDays(9), DateTime.Now.AddDays(11));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.File("certs/ca.key")));

        Assert.Equal("CN=admin, O=admins, OU=flatlora-admin", client.Certificate.Subject);   // init's client is the cluster's admin
        Assert.Equal("CN=flatlora-silo, OU=flatlora-silo", silo.Certificate.Subject);
        (code, _, error) = await CliRunner.RunAsync("certs", "client", "--ca", dir.File("certs"), "--name", "alice", "--project", "nlp", "--out", dir.File("alice"));
        Assert.True(code == ExitCodes.Success, error);
        ClusterTls alice = ClusterTls.FromFolder(dir.File("alice"), "client", "test");
        Assert.Equal("CN=alice, O=nlp, OU=flatlora-user", alice.Certificate.Subject);
        (code, _, error) = await CliRunner.RunAsync("certs", "client", "--ca", dir.File("certs"), "--name", "ops", "--role", "operator", "--out", dir.File("ops"));
        Assert.True(code == ExitCodes.Success, error);
        Assert.Equal("CN=ops, O=default, OU=flatlora-operator", ClusterTls.FromFolder(dir.File("ops"), "client", "test").Certificate.Subject);
        (code, _, error) = await CliRunner.RunAsync("certs", "client", "--ca", dir.File("certs"), "--name", "x", "--project", "a,b", "--out", dir.File("x"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--project: 'a,b' cannot be a certificate's organization", error);
        Assert.False(File.Exists(dir.File("alice/ca.key")));   // a client folder never holds the CA's key

        // A second init into the same folder would replace the CA: refused, nothing overwritten.
        byte[] before = File.ReadAllBytes(dir.File("certs/ca.crt"));
        (code, _, error) = await CliRunner.RunAsync("certs", "init", "--out", dir.File("certs"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.StartsWith($"error: --out: {dir.File("certs")} already holds cluster certificates (ca.crt, ca.key", error);
        Assert.Equal(before, File.ReadAllBytes(dir.File("certs/ca.crt")));
        // Also when the CA's key was moved offline, as it should be: ca.crt and the others are the cluster's, never replaced.
        File.Move(dir.File("certs/ca.key"), dir.File("offline-ca.key"));
        byte[] siloBytes = File.ReadAllBytes(dir.File("certs/silo.crt"));
        (code, _, error) = await CliRunner.RunAsync("certs", "init", "--out", dir.File("certs"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("already holds cluster certificates (ca.crt, silo.crt", error);
        Assert.Equal(before, File.ReadAllBytes(dir.File("certs/ca.crt")));
        Assert.Equal(siloBytes, File.ReadAllBytes(dir.File("certs/silo.crt")));
        Assert.False(File.Exists(dir.File("certs/ca.key")));
        // A client folder that holds a client certificate is refused the same way (bad input, exit 2), naming the option.
        File.Move(dir.File("offline-ca.key"), dir.File("certs/ca.key"));
        (code, _, error) = await CliRunner.RunAsync("certs", "client", "--ca", dir.File("certs"), "--name", "alice", "--out", dir.File("alice"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.StartsWith($"error: --out: {dir.File("alice/client.key")} exists", error);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_named_as_not_chaining()
    {
        using var dir = new TempDirectory();
        Assert.Equal(ExitCodes.Success, (await CliRunner.RunAsync("certs", "init", "--out", dir.File("a"))).ExitCode);
        Assert.Equal(ExitCodes.Success, (await CliRunner.RunAsync("certs", "init", "--out", dir.File("b"))).ExitCode);
        File.Copy(dir.File("b/ca.crt"), dir.File("a/ca.crt"), overwrite: true);
        var e = Assert.Throws<InvalidDataException>(() => ClusterTls.FromFolder(dir.File("a"), "client", "--tls-dir"));
        Assert.Equal($"--tls-dir: {dir.File("a/client.crt")} does not chain to the CA {dir.File("a/ca.crt")}", e.Message);
        var missing = await CliRunner.RunAsync("certs", "client", "--ca", dir.File("none"), "--name", "x", "--out", dir.File("x"));
        Assert.Equal(ExitCodes.InvalidInput, missing.ExitCode);
        Assert.StartsWith($"error: --ca: {dir.File("none/ca.crt")} not found", missing.Error);
    }
}
