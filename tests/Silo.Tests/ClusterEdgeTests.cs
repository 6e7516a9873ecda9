using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// One silo whose output root and Hugging Face cache the tests lay out: what a submitted spec may reach is decided
/// there, at the cluster's edge.
/// </summary>
public sealed class RootedSilo : IAsyncLifetime, IDisposable
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";
    public const string SecretContent = "root:x:0:0:hub-escape-marker";
    private readonly RedisServer _redis = new();

    public string Work { get; } = Path.Combine(Path.GetTempPath(), "flatlora-root-tests", Guid.NewGuid().ToString("N"));
    public string Root => Path.Combine(Work, "root");
    public string Outside => Path.Combine(Work, "outside");
    public string HubCache => Path.Combine(Work, "hub");

    /// <summary>The silo's watched scheduling file (FlatLora:Silo:SchedulingFile): project lab, max 1 device at the start.</summary>
    public string SchedulingFile => Path.Combine(Work, "scheduling", "scheduling.json");

    public static string Scheduling(string lab) => $$"""{ "FlatLora": { "Cluster": { "Scheduling": { "Projects": { "lab": {{lab}} } } } } }""";
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["HF_HUB_CACHE"] = HubCache };
    internal SiloCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret"), SecretContent);
        File.WriteAllText(Path.Combine(Outside, "config.json"), SecretContent);
        Directory.CreateSymbolicLink(Path.Combine(Root, "link-out"), Outside);
        Cluster = new SiloCluster(_redis, $"root-{Guid.NewGuid():N}", outputRoot: Root);
        // Every client connection goes through a recording proxy (the silo advertises the proxies' ports).
        Directory.CreateDirectory(Path.GetDirectoryName(SchedulingFile)!);
        File.WriteAllText(SchedulingFile, Scheduling("""{ "Max": 1, "Weight": 1 }"""));
        await Cluster.StartSiloAsync("silo-a", recordTraffic: true, environment: Environment,
            settings: [$"--FlatLora:Silo:SchedulingFile={SchedulingFile}", "--FlatLora:Cluster:Scheduling:OnlyListedProjects=false"]);
    }

    /// <summary>A cached model <c>evil/{name}</c>: refs/main names <see cref="Commit"/>, whose snapshot links config.json into blobs/.</summary>
    public string CacheModel(string name, bool refs = true, bool snapshot = true, bool blobs = true)
    {
        string repo = Path.Combine(HubCache, $"models--evil--{name}");
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots"));
        File.WriteAllText(Path.Combine(repo, "blobs", "c0ffee"), "{}");
        if (snapshot)
        {
            Directory.CreateDirectory(Path.Combine(repo, "snapshots", Commit));
            if (blobs)
                File.CreateSymbolicLink(Path.Combine(repo, "snapshots", Commit, "config.json"), Path.Combine("..", "..", "blobs", "c0ffee"));
        }
        if (refs)
            File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);
        return repo;
    }

    // xunit calls both DisposeAsync and Dispose on a fixture that has both: the silos and Redis stop once.
    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Cluster?.Dispose();
        _redis.Dispose();
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// What a client meets at the cluster's edge: a submitted spec cannot write, read or probe for files outside the
/// silo's output root and caches, and a silo says what weakens it.
/// </summary>
public sealed class ClusterEdgeTests(RootedSilo silo) : IClassFixture<RootedSilo>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);

    private async Task<string> RefusedAsync(string assignment, string field, string name)
    {
        string spec = Path.Combine(silo.Work, $"spec-{name}.yaml");
        File.WriteAllText(spec, $"training: {{ max_steps: 2, batch_size: 4, micro_batch_size: 4 }}\n{assignment}\n");
        (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, silo.Environment, ["submit", spec, .. silo.Cluster.CliConnection]);
        Assert.True(code == 2, $"{assignment}: exit {code}\n{output}");
        string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains($"{field}: ", line);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("root:x:0:0", output);
        Assert.DoesNotContain("hub-escape-marker", output);
        return line;
    }

    [Fact]
    public async Task Escapes_from_the_output_root_are_refused_at_submit_naming_the_field_and_nothing_is_created()
    {
        (string Assignment, string Field)[] escapes =
        [
            ("output_dir: ../outside/escaped", "output_dir"),
            ($"output_dir: {silo.Outside}/absolute", "output_dir"),
            ("output_dir: link-out/through-a-link", "output_dir"),
            ("data: { train: /etc/passwd }", "data.train"),
        ];
        for (int i = 0; i < escapes.Length; i++)
            Assert.Contains("is outside the cluster's output root", await RefusedAsync(escapes[i].Assignment, escapes[i].Field, $"root-{i}"));
        // (That the silo's answer is the same for a missing file is ClusterPathsTests': the CLI checks a missing file itself first.)
        Assert.Equal(["config.json", "secret"], Directory.EnumerateFileSystemEntries(silo.Outside).Select(Path.GetFileName).Order());

        // Inside the root, a relative output_dir and data.train are taken from the root (the CLI, whose working directory
        // has no data/, checks no path) and the run completes there. Submitted through a recording proxy: without TLS the
        // spec is readable on the wire (what TlsClusterTests shows TLS prevents).
        Directory.CreateDirectory(Path.Combine(silo.Root, "data"));
        File.WriteAllLines(Path.Combine(silo.Root, "data", "train.jsonl"), Enumerable.Repeat("{\"prompt\":\"shift: kfod => \",\"completion\":\"lgpe\"}", 8));
        string good = Path.Combine(silo.Work, "good.yaml");
        File.WriteAllText(good, "experiment: { name: plaintext-marker-91b2 }\ntraining: { max_steps: 2, batch_size: 4, micro_batch_size: 4 }\n" +
                                "data: { train: data/train.jsonl }\noutput_dir: mine\n");
        (int ok, string text) = await ChildProcess.RunCliAsync(CliTimeout, ["submit", good, "--watch", .. silo.Cluster.CliConnection]);
        Assert.True(ok == 0, text);
        Assert.NotEqual(-1, silo.Cluster.Traffic("silo-a").Api.Recorded().AsSpan().IndexOf("plaintext-marker-91b2"u8));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(silo.Root, "mine"), "summary.json", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Hub_ids_that_lead_out_of_the_silos_hugging_face_cache_are_refused_naming_model_path_without_content_or_an_existence_leak()
    {
        silo.CacheModel("plain");
        string up = string.Concat(Enumerable.Repeat("../", 12));
        // Each link escape twice, once to something that exists and once to nothing: the answers must read the same.
        string RefTo(string target, string suffix)
        {
            File.CreateSymbolicLink(Path.Combine(silo.CacheModel($"ref-{suffix}", refs: false), "refs", "main"), target);
            return $"evil/ref-{suffix}";
        }
        string SnapshotTo(string target, string suffix)
        {
            Directory.CreateSymbolicLink(Path.Combine(silo.CacheModel($"snap-{suffix}", snapshot: false), "snapshots", RootedSilo.Commit), target);
            return $"evil/snap-{suffix}";
        }
        string BlobTo(string target, string suffix)
        {
            File.CreateSymbolicLink(Path.Combine(silo.CacheModel($"blob-{suffix}", blobs: false), "snapshots", RootedSilo.Commit, "config.json"), target);
            return $"evil/blob-{suffix}";
        }
        string outside = silo.Outside;
        (string Name, string Existing, string? Missing)[] cases =
        [
            ("revision", $"evil/plain@{up}{outside.TrimStart('/')}/secret", $"evil/plain@{up}{outside.TrimStart('/')}/missing"),
            ("absolute revision", $"evil/plain@{outside}/secret", $"evil/plain@{outside}/missing"),
            ("dot-dot repo id", "evil/..@main", null),
            ("ref link", RefTo(Path.Combine(outside, "secret"), "a"), RefTo(Path.Combine(outside, "missing"), "b")),
            ("snapshot link", SnapshotTo(outside, "a"), SnapshotTo(Path.Combine(silo.Work, "missing"), "b")),
            ("blob link", BlobTo(Path.Combine(outside, "config.json"), "a"), BlobTo(Path.Combine(outside, "missing"), "b")),
        ];
        static string Normalized(string line, string id) => line.Replace(id, "ID", StringComparison.Ordinal)
            .Replace("models--" + id.Split('@')[0].Replace("/", "--", StringComparison.Ordinal), "FOLDER", StringComparison.Ordinal);
        foreach ((string name, string existing, string? missing) in cases)
        {
            string toExisting = await RefusedAsync($"model: {{ path: \"{existing}\" }}", "model.path", name.Replace(' ', '-') + "-a");
            if (missing is null)
                continue;
            string toMissing = await RefusedAsync($"model: {{ path: \"{missing}\" }}", "model.path", name.Replace(' ', '-') + "-b");
            Assert.True(Normalized(toExisting, existing) == Normalized(toMissing, missing), $"{name}: the answer tells whether the target exists:\n{toExisting}\n{toMissing}");
        }
    }

    [Fact]
    public async Task A_change_to_the_scheduling_file_applies_without_a_restart_and_a_bad_one_is_refused_naming_the_setting()
    {
        Assert.Equal("1", await LabMaxAsync(m => m == "1"));
        File.WriteAllText(silo.SchedulingFile, RootedSilo.Scheduling("""{ "Max": 3, "Weight": 2 }"""));
        Assert.Equal("3", await LabMaxAsync(m => m == "3"));
        // A bad edit leaves the last good configuration in force, and the silo says which setting is wrong.
        File.WriteAllText(silo.SchedulingFile, RootedSilo.Scheduling("""{ "Max": -2, "Weight": 2 }"""));
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!silo.Cluster.Logs("silo-a").Contains("FlatLora:Cluster:Scheduling:Projects:lab:Max: must be 0 or more devices (got -2)", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the silo did not refuse the bad scheduling file:\n" + silo.Cluster.Logs("silo-a"));
            await Task.Delay(250);
        }
        Assert.Equal("3", await LabMaxAsync(m => true));
        File.WriteAllText(silo.SchedulingFile, RootedSilo.Scheduling("""{ "Max": 1, "Weight": 1 }"""));
        Assert.Equal("1", await LabMaxAsync(m => m == "1"));
    }

    /// <summary>Project lab's max as `flatlora queue --format json` shows it, once <paramref name="done"/> says so (within 30 s).</summary>
    private async Task<string> LabMaxAsync(Func<string, bool> done)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            (int code, string output) = await ChildProcess.RunCliAsync(CliTimeout, ["queue", "--format", "json", .. silo.Cluster.CliConnection]);
            Assert.True(code == 0, output);
            using var json = System.Text.Json.JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
            string max = json.RootElement.GetProperty("projects").EnumerateArray().Single(p => p.GetProperty("project").GetString() == "lab").GetProperty("max").ToString();
            if (done(max))
                return max;
            Assert.True(DateTime.UtcNow < deadline, $"lab's max stayed {max}");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task A_silo_without_a_cluster_key_or_tls_says_so_in_flatlora_cluster()
    {
        // The fixture's silo runs as the defaults do: plaintext, no cluster key. The warning is sent with the silo's
        // health, which it reports every membership check.
        string output = "";
        for (int i = 0; i < 20 && !output.Contains("warning: silo-a: no cluster key and no TLS", StringComparison.Ordinal); i++)
        {
            (int code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["cluster", .. silo.Cluster.CliConnection]);
            Assert.True(code == 0, output);
            await Task.Delay(500);
        }
        Assert.Contains("warning: silo-a: no cluster key and no TLS", output);
        Assert.Contains("FlatLora:Silo:ClusterKey", output);
        Assert.Contains("Security: no cluster key and no TLS", silo.Cluster.Logs("silo-a"));
    }

    [Fact]
    public async Task The_api_answers_json_and_refuses_unknown_fields_an_oversized_spec_and_another_version_with_one_message()
    {
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var api = new Uri($"http://127.0.0.1:{silo.Cluster.ApiPort("silo-a")}");
        string whoami = await http.GetStringAsync(new Uri(api, "/v1/whoami"));
        Assert.Contains("\"user\": \"local\"", whoami.Replace("\":\"", "\": \"", StringComparison.Ordinal));

        async Task<(int Status, string Body)> PostAsync(string path, string json)
        {
            using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await http.PostAsync(new Uri(api, path), content);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        (int status, string body) = await PostAsync("/v1/experiments", "{\"spec\": \"training: { max_steps: 1 }\", \"bogus\": 1}");
        Assert.True(status == 400, $"{status}: {body}");
        Assert.Contains("bogus", body);
        (status, body) = await PostAsync("/v1/experiments", "{\"spec\": \"lora: { rank: 0 }\"}");
        Assert.True(status == 400, $"{status}: {body}");
        Assert.Contains("lora.rank: must be at least 1", body);
        Assert.DoesNotContain("   at ", body);
        string huge = "experiment: { name: x }\n" + new string('#', (1 << 20) + 10);
        (status, body) = await PostAsync("/v1/experiments", System.Text.Json.JsonSerializer.Serialize(new { spec = huge }));
        Assert.True(status == 400, $"{status}: {body}");
        Assert.Contains("more than the 1 MB a submitted spec may have", body);
        (status, body) = await PostAsync("/v2/experiments", "{}");
        Assert.Equal(404, status);

        // Over gRPC, a service of another API version is UNIMPLEMENTED, which the CLI would show as one line.
        using var call = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "/flatlora.v2.Experiments/Submit"))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        call.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using HttpResponseMessage grpc = await http.SendAsync(call, HttpCompletionOption.ResponseHeadersRead);
        await grpc.Content.ReadAsByteArrayAsync();
        string grpcStatus = grpc.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.First()
            : grpc.Headers.TryGetValues("grpc-status", out var headers) ? headers.First() : "none";
        Assert.Equal("12", grpcStatus);   // UNIMPLEMENTED
    }
}

