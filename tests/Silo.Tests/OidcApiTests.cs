using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// A silo whose API takes bearer tokens, checked against a real OpenID Connect issuer started here: a valid token
/// identifies its user and project; a missing, expired, foreign-audience or badly signed one is refused with one line.
/// </summary>
public sealed class OidcApiTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private readonly RedisServer _redis = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-oidc-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Tokens_of_a_real_issuer_identify_callers_and_a_missing_expired_foreign_or_forged_one_is_refused_with_one_line()
    {
        using var issuer = new OidcIssuer();
        using var cluster = new SiloCluster(_redis, $"oidc-{Guid.NewGuid():N}");
        await cluster.StartSiloAsync("silo-a", settings:
        [
            "--FlatLora:Silo:Auth:Mode=Oidc", $"--FlatLora:Silo:Auth:Oidc:Authority={issuer.Authority}", "--FlatLora:Silo:Auth:Oidc:Audience=urn:flatlora:api",
            "--FlatLora:Silo:Auth:Oidc:RequireHttpsMetadata=false", "--FlatLora:Silo:Auth:Oidc:ClockSkew=00:00:00",
        ]);
        Task<(int ExitCode, string Output)> Cli(string? token, params string[] args) =>
            ChildProcess.RunCliAsync(CliTimeout, [.. args, .. token is null ? [] : new[] { "--token", token }, .. cluster.CliConnection]);

        string alice = await issuer.TokenAsync("alice"), bob = await issuer.TokenAsync("bob");
        (int code, string output) = await Cli(alice, "cluster");
        Assert.True(code == 0, output);
        Assert.Contains("you are alice@nlp (token)", output);
        // Tokens over plaintext: the silo says so at start and in `flatlora cluster`.
        Assert.Contains("warning: silo-a: API bearer tokens travel without TLS", output);

        Directory.CreateDirectory(_work);
        string spec = Path.Combine(_work, "run.yaml");
        File.WriteAllText(spec, "training: { max_steps: 2, batch_size: 4, micro_batch_size: 4 }\noutput_dir: runs/oidc\n");
        (code, output) = await Cli(alice, "submit", spec, "--watch");
        Assert.True(code == 0, output);
        string id = output.Split('\n').First(l => l.StartsWith("Submitted ", StringComparison.Ordinal)).Split(' ')[1].TrimEnd(':');
        (code, output) = await Cli(bob, "results", id);
        Assert.True(code == 4, output);
        Assert.Contains($"error: not permitted: bob@vision may not read {id}: it belongs to alice@nlp", output);

        string[] parts = alice.Split('.');
        char[] signature = parts[2].ToCharArray();
        signature[signature.Length / 2] = signature[signature.Length / 2] == 'A' ? 'B' : 'A';
        string forged = $"{parts[0]}.{parts[1]}.{new string(signature)}";
        string expiring = await issuer.TokenAsync("short");
        string foreign = await issuer.TokenAsync("alice", audience: "urn:another:api");
        await Task.Delay(TimeSpan.FromSeconds(2.5));   // "short" tokens live one second
        (string? Token, string Says)[] refusals =
        [
            (null, "no bearer token"),
            (expiring, "the token expired at"),
            (foreign, "the token was issued for another audience"),
            (forged, "the token's signature does not verify"),
            ("not-a-jwt", "the bearer value is not a JWT"),
        ];
        foreach ((string? token, string says) in refusals)
        {
            (code, output) = await Cli(token, "status");
            Assert.True(code == 4, $"{says}: exit {code}\n{output}");
            string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.StartsWith("error: not identified: ", line);
            Assert.Contains(says, line);
            Assert.DoesNotContain("IDX", line);
            Assert.DoesNotContain("   at ", output);
        }
    }

    public void Dispose()
    {
        _redis.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
