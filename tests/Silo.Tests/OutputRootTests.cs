using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>A submitted spec cannot write, or probe for files, outside the silo's output root.</summary>
public sealed class OutputRootTests : IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private readonly RedisServer _redis = new();
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-root-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Escapes_from_the_output_root_are_refused_at_submit_naming_the_field_and_nothing_is_created()
    {
        string root = Path.Combine(_work, "root"), outside = Path.Combine(_work, "outside");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(root, "link-out"), outside);
        using var cluster = new SiloCluster(_redis, $"root-{Guid.NewGuid():N}", outputRoot: root);
        // Every client connection goes through a recording proxy (the silo advertises the proxy's port as its gateway).
        await cluster.StartSiloAsync("silo-a", recordTraffic: true);

        (string Assignment, string Field)[] escapes =
        [
            ("output_dir: ../outside/escaped", "output_dir"),
            ($"output_dir: {outside}/absolute", "output_dir"),
            ("output_dir: link-out/through-a-link", "output_dir"),
            ("data: { train: /etc/passwd }", "data.train"),
        ];
        var refusals = new List<string>();
        foreach ((string assignment, string field) in escapes)
        {
            string spec = Path.Combine(_work, $"spec-{refusals.Count}.yaml");
            File.WriteAllText(spec, $"training: {{ max_steps: 2, batch_size: 4, micro_batch_size: 4 }}\n{assignment}\n");
            (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", spec, .. cluster.CliConnection]);
            Assert.True(code == 2, $"{assignment}: exit {code}\n{output}");
            string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.Contains($"{field}: ", line);
            Assert.Contains("is outside the cluster's output root", line);
            Assert.DoesNotContain("   at ", output);
            refusals.Add(line);
        }
        // (That the silo's answer is the same for a missing file is ClusterPathsTests': the CLI checks a missing file itself first.)
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));

        // Inside the root, a relative output_dir is taken from the root and the run completes there. Submitted through a
        // recording proxy: without TLS the spec is readable on the wire (what TlsClusterTests shows TLS prevents).
        string good = Path.Combine(_work, "good.yaml");
        File.WriteAllText(good, "experiment: { name: plaintext-marker-91b2 }\ntraining: { max_steps: 2, batch_size: 4, micro_batch_size: 4 }\noutput_dir: mine\n");
        (int ok, string text) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", good, "--watch", .. cluster.CliConnection]);
        Assert.True(ok == 0, text);
        Assert.NotEqual(-1, cluster.Traffic("silo-a").Gateway.Recorded().AsSpan().IndexOf("plaintext-marker-91b2"u8));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(root, "mine"), "summary.json", SearchOption.AllDirectories));
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
