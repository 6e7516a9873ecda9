using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FlatLora.Tests.Shared;

namespace FlatLora.Silo.Tests;

/// <summary>
/// Two silo processes with mutual TLS on every port, a TLS Redis, and the certificates of a small team: the cluster's
/// admin (certs init's client), alice and carol of project nlp (carol administers it), bob of vision, and an operator
/// tool. Every port sits behind a recording proxy.
/// </summary>
public sealed class TlsCluster : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private RedisServer? _redis;

    public string Work { get; } = Path.Combine(Path.GetTempPath(), "flatlora-tls-tests", Guid.NewGuid().ToString("N"));
    public string Certs => Path.Combine(Work, "certs");
    public string Foreign => Path.Combine(Work, "foreign");
    public string User(string name) => Path.Combine(Work, name);
    internal SiloCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        foreach (string folder in new[] { Certs, Foreign })
        {
            (int made, string text) = await ChildProcess.RunCliAsync(CliTimeout, ["certs", "init", "--out", folder, "--days", "30"]);
            Assert.True(made == 0, text);
        }
        foreach ((string name, string project, string role) in new[] { ("alice", "nlp", "user"), ("carol", "nlp", "user"), ("bob", "vision", "user"), ("erin", "astro", "user"), ("ops", "cluster", "operator") })
        {
            (int made, string text) = await ChildProcess.RunCliAsync(CliTimeout,
                ["certs", "client", "--ca", Certs, "--name", name, "--project", project, "--role", role, "--out", User(name)]);
            Assert.True(made == 0, text);
        }
        // Redis too speaks only TLS and takes only the cluster's certificates: silos reach it with theirs.
        _redis = new RedisServer(tlsDirectory: Certs);
        Cluster = new SiloCluster(_redis, $"tls-{Guid.NewGuid():N}");
        // Erin's project is known to the API's policy but not scheduled on this cluster; nlp may not use priority high.
        string[] policy = ["--FlatLora:Silo:Auth:Projects:nlp:Admins:0=carol", "--FlatLora:Silo:Auth:Projects:vision:Members:0=bob",
            "--FlatLora:Silo:Auth:Projects:astro:Members:0=erin",
            "--FlatLora:Cluster:Scheduling:Projects:nlp:MaxPriority=normal", "--FlatLora:Cluster:Scheduling:Projects:vision:Weight=2",
            $"--FlatLora:Cluster:Scheduling:PreemptAfter={PreemptAfter}",
            // A silo killed by a test comes back with its devices quarantined: short, so the tests after it get both slots.
            "--FlatLora:Cluster:LostDeviceQuarantine=00:00:05"];
        // Each silo's silo, gateway, gradient (control and data) and API ports sit behind recording proxies: every byte between silos and from
        // clients is seen.
        await Cluster.StartSiloAsync("silo-a", tlsDirectory: Certs, recordTraffic: true, settings: policy);
        await Cluster.StartSiloAsync("silo-b", tlsDirectory: Certs, recordTraffic: true, settings: policy);
    }

    /// <summary>How long a run within its project's share waits before the scheduler preempts for it (short, for the test).</summary>
    public static readonly TimeSpan PreemptAfter = TimeSpan.FromSeconds(3);

    /// <summary>The CLI as <paramref name="who"/> ("admin": certs init's client certificate).</summary>
    internal Task<(int ExitCode, string Output)> RunAsync(string who, params string[] args) =>
        ChildProcess.RunCliAsync(CliTimeout, [.. args, "--tls-dir", who == "admin" ? Certs : User(who), .. Cluster.CliConnection]);

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
        _redis?.Dispose();
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Mutual TLS between real silo processes and the CLI: only holders of a certificate from the cluster CA get in, users only through the API.</summary>
public sealed class TlsClusterTests(TlsCluster tls) : IClassFixture<TlsCluster>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private SiloCluster Cluster => tls.Cluster;

    private string Spec(string name, string body)
    {
        string path = Path.Combine(tls.Work, $"{name}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, body + $"\noutput_dir: runs/{name}\n");
        return path;
    }

    [Fact]
    public async Task Only_clients_and_silos_certified_by_the_cluster_ca_get_in_and_nothing_crosses_in_clear()
    {
        string expired = Path.Combine(tls.Work, "expired");
        WriteExpiredClient(tls.Certs, expired);

        // With the cluster's admin certificate a tiny run is submitted and completes.
        (int code, string output) = await tls.RunAsync("admin", "submit", Spec("tiny", "training: { max_steps: 2, batch_size: 4, micro_batch_size: 4 }"), "--watch");
        Assert.True(code == 0, output);
        Assert.Contains("Completed", output);

        // A data-parallel run across both silos: its gradients cross the silos' data-plane ports in sealed frames.
        (code, output) = await tls.RunAsync("admin", "submit",
            Spec("parallel", "training: { max_steps: 4, batch_size: 8, micro_batch_size: 4 }\nexperiment: { world_size: 2 }"), "--watch");
        Assert.True(code == 0, output);
        Assert.Contains("Completed", output);
        string metrics = await Cluster.MetricsAsync("silo-a") + await Cluster.MetricsAsync("silo-b");
        Assert.Matches(@"flatlora_allreduce_bytes_total\{[^}]*\} [1-9]", metrics);
        Assert.Matches(@"flatlora_api_requests_total\{[^}]*method=""Experiments.Submit""[^}]*\} [1-9]", metrics);
        Assert.True(Cluster.Traffic("silo-a").Data.Recorded().Length + Cluster.Traffic("silo-b").Data.Recorded().Length > 10_000,
            "the gradients did not cross the data-plane proxies");
        Assert.True(Cluster.Traffic("silo-a").Control.Recorded().Length + Cluster.Traffic("silo-b").Control.Recorded().Length > 0,
            "no rendezvous crossed the gradient control proxies");

        // The spec, its results, the silos' talk, the API calls and the gradients crossed the proxies, none of it readable there.
        const string marker = "marker-3f9c1e7a-not-on-the-wire";
        (code, output) = await tls.RunAsync("admin", "submit", Spec("marked", $"experiment: {{ name: {marker} }}\ntraining: {{ max_steps: 2, batch_size: 4, micro_batch_size: 4 }}"), "--watch");
        Assert.True(code == 0, output);
        byte[] wire = [.. new[] { "silo-a", "silo-b" }.SelectMany(name =>
            new[] { Cluster.Traffic(name).Silo, Cluster.Traffic(name).Gateway, Cluster.Traffic(name).Control, Cluster.Traffic(name).Data, Cluster.Traffic(name).Api }
                .SelectMany(p => p.Recorded()))];
        Assert.True(Cluster.Traffic("silo-a").Silo.Recorded().Length + Cluster.Traffic("silo-b").Silo.Recorded().Length > 10_000, "no silo-to-silo traffic was seen");
        Assert.True(Cluster.Traffic("silo-a").Api.Recorded().Length + Cluster.Traffic("silo-b").Api.Recorded().Length > 5_000, "no API call crossed the API proxies");
        Assert.Equal(-1, wire.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(marker)));
        Assert.Equal(-1, wire.AsSpan().IndexOf("max_steps"u8));

        // Without a certificate, or with one from another CA: refused before any call, exit 3, one line naming TLS.
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--tls-dir", tls.Foreign] })
        {
            (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", "--connect-timeout", "10", .. extra, .. Cluster.CliConnection]);
            Assert.True(code == 3, $"{string.Join(' ', extra)}: exit {code}\n{output}");
            string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.True(line.Contains("TLS", StringComparison.Ordinal), output);
            Assert.DoesNotContain("   at ", output);
        }
        // An expired certificate: exit 3 like any refusal, said by the CLI before it dials, naming the file and its dates.
        (code, output) = await ChildProcess.RunCliAsync(CliTimeout, ["status", "--tls-dir", expired, .. Cluster.CliConnection]);
        Assert.True(code == 3, output);
        Assert.Contains($"error: could not reach the cluster: TLS: --tls-dir: {Path.Combine(expired, "client.crt")} is valid only from", output);

        // A silo with certificates from another CA does not join: the cluster still counts two silos.
        await Cluster.StartSiloAsync("silo-foreign", tlsDirectory: tls.Foreign, waitHealthy: false);
        await Task.Delay(TimeSpan.FromSeconds(15));
        (code, output) = await tls.RunAsync("admin", "cluster");
        Assert.True(code == 0, output);
        Assert.Contains("2 silo(s)", output);
        Assert.DoesNotContain("silo-foreign", output);
    }

    [Fact]
    public async Task Another_projects_run_preempts_a_sweep_within_preempt_after_and_the_preempted_trial_ends_byte_identical()
    {
        // Alice (project nlp) floods both slots with a 12-trial sweep; then bob (project vision) submits one short run.
        string dir = Path.Combine(tls.Work, $"fair-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "base.yaml"), """
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            lora: { rank: 4, alpha: 8, dropout: 0 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: 80, log_every: 1 }
            checkpoint: { interval: 5 }
            experiment: { seeds: [1] }
            output_dir: runs/fair
            """);
        string[] rates = [.. Enumerable.Range(0, 12).Select(i => $"0.00{50 + i}")];
        File.WriteAllText(Path.Combine(dir, "sweep.yaml"), $"base: base.yaml\ngrid: {{ optimizer.lr: [{string.Join(", ", rates)}] }}\nmax_concurrent: 12\n");
        (int code, string output) = await tls.RunAsync("alice", "sweep", Path.Combine(dir, "sweep.yaml"));
        Assert.True(code == 0, output);
        string sweep = output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("sweep-", StringComparison.Ordinal));
        await UntilAsync(async () => (await QueueAsync("alice")).GetProperty("waiting").GetArrayLength() >= 9, "alice's trials to fill both slots and queue");

        DateTime submitted = DateTime.UtcNow;
        (code, output) = await tls.RunAsync("bob", "submit", Spec("bob-short", "training: { max_steps: 3, batch_size: 4, micro_batch_size: 4 }"));
        Assert.True(code == 0, output);
        string bobs = output.Split('\n').First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
        await UntilAsync(async () => (await SeedAsync("bob", bobs)).GetProperty("state").GetString() is not ("queued" or "pending"), "bob's run to start");
        TimeSpan waited = DateTime.UtcNow - submitted;
        JsonElement queue = await QueueAsync("alice");
        int aliceWaiting = queue.GetProperty("waiting").EnumerateArray().Count(q => q.GetProperty("project").GetString() == "nlp");
        Console.WriteLine($"bob's run started {waited.TotalSeconds:0.0} s after submission (PreemptAfter {TlsCluster.PreemptAfter.TotalSeconds} s); {aliceWaiting} of alice's trials still waited");
        // Not behind the backlog: most of alice's trials had not run yet. The bound covers PreemptAfter, a checkpoint and the CLI's own polling.
        Assert.True(aliceWaiting >= 8, queue.ToString());
        Assert.True(waited < TlsCluster.PreemptAfter + TimeSpan.FromSeconds(30), $"bob waited {waited.TotalSeconds:0.0} s");

        // The preempted trial is said so in the sweep's results, resumes, and ends with the adapter an uninterrupted run makes.
        JsonElement row = await UntilAsync(async () => (await SweepRowsAsync(sweep)).FirstOrDefault(r => r.GetProperty("preemptions").GetInt32() > 0),
            "a trial of alice's to show a preemption", r => r.ValueKind == JsonValueKind.Object);
        string trial = row.GetProperty("experiment_id").GetString()!;
        string rate = row.GetProperty("label").GetString()!.Split('=')[1];
        (code, output) = await tls.RunAsync("alice", "watch", trial);
        Assert.True(code == 0, output);
        JsonElement preempted = await SeedAsync("alice", trial);
        Assert.True(preempted.GetProperty("preemptions").GetInt32() >= 1, preempted.ToString());
        (code, output) = await tls.RunAsync("alice", "cancel", sweep);
        Assert.True(code == 0, output);

        (code, output) = await tls.RunAsync("alice", "submit", Path.Combine(dir, "base.yaml"), "--set", $"optimizer.lr={rate}", "--watch", "--format", "json");
        Assert.True(code == 0, output);
        string reference = output.Split('\n').First(l => l.StartsWith("Submitted ", StringComparison.Ordinal)).Split(' ')[1];
        JsonElement uninterrupted = await SeedAsync("alice", reference);
        Assert.Equal(0, uninterrupted.GetProperty("preemptions").GetInt32());
        Assert.Equal(File.ReadAllBytes(ClusterRuns.AdapterFile(uninterrupted)), File.ReadAllBytes(ClusterRuns.AdapterFile(preempted)));
        Assert.Contains("preempting", Cluster.Logs("silo-a") + Cluster.Logs("silo-b"));
    }

    [Fact]
    public async Task A_silo_killed_while_a_preempted_run_checkpoints_loses_nothing_and_the_run_ends_byte_identical()
    {
        // Alice (nlp) holds both slots with two long runs; bob (vision) asks for one, and after PreemptAfter one of
        // alice's runs is told to checkpoint and let go. The silo its device is on is killed with SIGKILL right then.
        string dir = Path.Combine(tls.Work, $"kill-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string spec = Path.Combine(dir, "long.yaml");
        File.WriteAllText(spec, """
            model: { builtin: tiny }
            data: { builtin: tiny-shift, max_seq_len: 64 }
            lora: { rank: 4, alpha: 8, dropout: 0 }
            optimizer: { lr: 0.005 }
            training: { batch_size: 8, micro_batch_size: 8, max_steps: 300, log_every: 1 }
            checkpoint: { interval: 5 }
            experiment: { seeds: [1] }
            output_dir: runs/kill
            """);
        string[] rates = ["0.0071", "0.0072"];
        var alices = new List<string>();
        foreach (string rate in rates)
        {
            (int made, string text) = await tls.RunAsync("alice", "submit", spec, "--set", $"optimizer.lr={rate}");
            Assert.True(made == 0, text);
            alices.Add(text.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("exp-", StringComparison.Ordinal)));
        }
        var siloOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string id in alices)
        {
            JsonElement running = await UntilAsync(() => SeedAsync("alice", id), $"{id} to run", seed => seed.GetProperty("state").GetString() == "running");
            siloOf[id] = running.GetProperty("devices")[0].GetString()!.Split('/')[0];
        }

        (int code, string output) = await tls.RunAsync("bob", "submit", Spec("bob-kill", "training: { max_steps: 3, batch_size: 4, micro_batch_size: 4 }"));
        Assert.True(code == 0, output);
        string bobs = output.Split('\n').First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
        string? victim = await UntilAsync(
            () => Task.FromResult(alices.FirstOrDefault(id => (Cluster.Logs("silo-a") + Cluster.Logs("silo-b")).Contains($"Inventory: preempting {id}/", StringComparison.Ordinal))),
            "the scheduler to preempt one of alice's runs", id => id is not null);
        // Killed at once (the logs are read every 250 ms): the victim is stopping at its step boundary, or writing its checkpoint.
        await Cluster.KillAndRestartSiloAsync(siloOf[victim!]);
        JsonElement before = await SeedAsync("alice", victim!);
        Console.WriteLine($"killed {siloOf[victim!]} while {victim} checkpointed for bob; after the restart it is {before.GetProperty("state")} at step {before.GetProperty("step")}, " +
            $"last checkpoint {before.GetProperty("last_checkpoint")}");

        // Bob's run and the victim both end well; the victim's adapter is the one an uninterrupted run makes.
        (code, output) = await tls.RunAsync("bob", "watch", bobs);
        Assert.True(code == 0, output);
        (code, output) = await tls.RunAsync("alice", "watch", victim!);
        Assert.True(code == 0, output);
        JsonElement after = await SeedAsync("alice", victim!);
        Assert.Equal("completed", after.GetProperty("state").GetString());
        (code, output) = await tls.RunAsync("alice", "cancel", alices.Single(id => id != victim));
        Assert.True(code == 0, output);
        (code, output) = await tls.RunAsync("alice", "submit", spec, "--set", $"optimizer.lr={rates[alices.IndexOf(victim!)]}", "--watch", "--format", "json");
        Assert.True(code == 0, output);
        string reference = output.Split('\n').First(l => l.StartsWith("Submitted ", StringComparison.Ordinal)).Split(' ')[1];
        JsonElement uninterrupted = await SeedAsync("alice", reference);
        Assert.Equal(File.ReadAllBytes(ClusterRuns.AdapterFile(uninterrupted)), File.ReadAllBytes(ClusterRuns.AdapterFile(after)));

        // The cluster is whole again for the tests that follow: both slots free, none quarantined.
        await UntilAsync(async () => (await tls.RunAsync("admin", "cluster")).Output.Contains(", 2 free / 0 busy / 0 down device(s)", StringComparison.Ordinal),
            "both slots to be free again after the kill");
    }

    private async Task<JsonElement> QueueAsync(string who)
    {
        (int code, string output) = await tls.RunAsync(who, "queue", "--format", "json");
        Assert.True(code == 0, output);
        return JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]).RootElement.Clone();
    }

    private async Task<JsonElement> SeedAsync(string who, string experiment)
    {
        (int code, string output) = await tls.RunAsync(who, "results", experiment, "--format", "json");
        Assert.True(code == 0, output);
        return JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("status").GetProperty("seeds")[0].Clone();
    }

    private async Task<List<JsonElement>> SweepRowsAsync(string sweep)
    {
        (int code, string output) = await tls.RunAsync("alice", "results", sweep, "--format", "json");
        Assert.True(code == 0, output);
        return [.. JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]).RootElement.GetProperty("rows").EnumerateArray().Select(r => r.Clone())];
    }

    private static async Task UntilAsync(Func<Task<bool>> done, string what) => await UntilAsync(async () => await done(), what, b => b);

    private static async Task<T> UntilAsync<T>(Func<Task<T>> probe, string what, Func<T, bool> done)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            T value = await probe();
            if (done(value))
                return value;
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_priority_above_the_projects_cap_is_refused_and_an_unscheduled_project_is_named()
    {
        string spec = Spec("prio", "training: { max_steps: 1, batch_size: 4, micro_batch_size: 4 }");
        (int code, string output) = await tls.RunAsync("alice", "submit", spec, "--set", "experiment.priority=high");
        Assert.True(code == 4, output);
        Assert.Contains("error: not permitted: alice may not submit an experiment with priority high: project nlp allows at most normal", output);
        (code, output) = await tls.RunAsync("alice", "submit", spec, "--set", "experiment.priority=critical");
        Assert.True(code == 4, output);
        Assert.Contains("alice may not submit an experiment with priority critical (cluster admins only)", output);
        (code, output) = await tls.RunAsync("alice", "submit", spec, "--set", "experiment.priority=urgent");
        Assert.True(code == 2, output);
        Assert.Contains("experiment.priority: must be one of low, normal, high, critical (got 'urgent')", output);
        (code, output) = await tls.RunAsync("erin", "submit", spec);
        Assert.True(code == 2, output);
        Assert.Contains("error: project: 'astro' (the project of erin) is not one of the cluster's projects (nlp, vision)", output);
        Assert.DoesNotContain("   at ", output);

        // Everyone sees the projects' devices and the queue.
        (code, output) = await tls.RunAsync("bob", "cluster");
        Assert.True(code == 0, output);
        Assert.Contains("fair share", output);
        Assert.Contains(output.Split('\n'), l => l.Contains("vision", StringComparison.Ordinal) && l.Contains("nlp", StringComparison.Ordinal) is false);
        (code, output) = await tls.RunAsync("bob", "queue", "--format", "json");
        Assert.True(code == 0, output);
        using var json = System.Text.Json.JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var vision = json.RootElement.GetProperty("projects").EnumerateArray().Single(p => p.GetProperty("project").GetString() == "vision");
        Assert.Equal(2, vision.GetProperty("weight").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, vision.GetProperty("max").ValueKind);
    }

    [Fact]
    public async Task Each_user_may_act_only_on_what_the_policy_allows_and_every_decision_is_audited()
    {
        // Alice's runs: one that completes, one that runs until cancelled. Each belongs to alice@nlp.
        (int code, string output) = await tls.RunAsync("alice", "submit", Spec("alice-short", "training: { max_steps: 2, batch_size: 4, micro_batch_size: 4 }"), "--watch", "--format", "json");
        Assert.True(code == 0, output);
        string done = output.Split('\n').First(l => l.StartsWith("Submitted ", StringComparison.Ordinal)).Split(' ')[1];
        (code, output) = await tls.RunAsync("alice", "submit", Spec("alice-long", "training: { max_steps: 100000, batch_size: 4, micro_batch_size: 4 }"));
        Assert.True(code == 0, output);
        string running = output.Split('\n').First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();

        // Bob (project vision) may not cancel, export, watch or read alice's runs: exit 4, naming him and the action.
        string[][] refusals = [["cancel", running], ["export", done, "--out", Path.Combine(tls.Work, "bob-export")], ["watch", running], ["results", done]];
        foreach (string[] refused in refusals)
        {
            (code, output) = await tls.RunAsync("bob", refused);
            Assert.True(code == 4, $"bob {string.Join(' ', refused)}: exit {code}\n{output}");
            string line = output.Split('\n').First(l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.Contains("not permitted: bob@vision may not", line);
            Assert.Contains("alice@nlp", line);
            Assert.DoesNotContain("   at ", output);
        }
        Assert.False(Directory.Exists(Path.Combine(tls.Work, "bob-export", "adapter_config.json")));
        // Bob's own list does not show alice's runs; alice's does.
        (code, output) = await tls.RunAsync("bob", "status", "--all");
        Assert.True(code == 0, output);
        Assert.DoesNotContain(done, output);
        (code, output) = await tls.RunAsync("alice", "status");
        Assert.True(code == 0, output);
        Assert.Contains(done, output);
        Assert.Contains("alice@nlp", output);

        // Alice exports her adapter through the API (no shared disk needed).
        (code, output) = await tls.RunAsync("alice", "export", done, "--out", Path.Combine(tls.Work, "alice-export"));
        Assert.True(code == 0, output);
        Assert.True(File.Exists(Path.Combine(tls.Work, "alice-export", "adapter_model.safetensors")), output);

        // Carol administers nlp: she may cancel alice's run. The cluster admin may cancel anyone's.
        (code, output) = await tls.RunAsync("carol", "cancel", running);
        Assert.True(code == 0, output);
        (code, output) = await tls.RunAsync("bob", "submit", Spec("bob-long", "training: { max_steps: 100000, batch_size: 4, micro_batch_size: 4 }"));
        Assert.True(code == 0, output);
        string bobs = output.Split('\n').First(l => l.StartsWith("exp-", StringComparison.Ordinal)).Trim();
        (code, output) = await tls.RunAsync("admin", "cancel", bobs);
        Assert.True(code == 0, output);
        (code, output) = await tls.RunAsync("alice", "watch", running);
        Assert.Equal(130, code);   // a watch of a cancelled run reports it (exit 130)
        Assert.Contains($"{running}: Cancelled", output);

        // One audit line per mutating call and per refusal, on the silo that served it: who, what, which id, the outcome, from where.
        string logs = Cluster.Logs("silo-a") + Cluster.Logs("silo-b");
        Assert.Matches($@"audit: /flatlora\.v1\.Experiments/Cancel by bob@vision \(certificate\) on {running}: refused from ipv4:127\.0\.0\.1:\d+", logs);
        Assert.Matches($@"audit: /flatlora\.v1\.Experiments/Cancel by carol@nlp \(certificate\) on {running}: allowed", logs);
        Assert.Matches($@"audit: /flatlora\.v1\.Experiments/Submit by alice@nlp \(certificate\) on {running}: allowed", logs);
        Assert.Matches($@"audit: /flatlora\.v1\.\w+/\w+ by bob@vision \(certificate\) on {done}: refused", logs);
        string metrics = await Cluster.MetricsAsync("silo-a") + await Cluster.MetricsAsync("silo-b");
        Assert.Matches(@"flatlora_api_requests_total\{[^}]*outcome=""refused""[^}]*\} [1-9]", metrics);
        Assert.DoesNotContain("alice", string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("flatlora_api_requests", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task The_orleans_gateway_and_silo_ports_refuse_a_users_certificate_at_the_handshake_and_admit_an_operators()
    {
        foreach (int port in new[] { Cluster.GatewayPort("silo-a"), Cluster.SiloPort("silo-a") })
        {
            Assert.False(await HandshakeHoldsAsync(port, tls.User("alice")), $"port {port} admitted a user certificate");
            Assert.True(await HandshakeHoldsAsync(port, tls.User("ops")), $"port {port} refused an operator certificate");
        }
    }

    // Whether a TLS session with this client certificate stays up: a refused certificate ends it at the handshake (TLS 1.2)
    // or with the server's alert right after it (TLS 1.3, where the client learns of the refusal on its first read).
    private async Task<bool> HandshakeHoldsAsync(int port, string folder)
    {
        using X509Certificate2 ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(tls.Certs, "ca.crt")));
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(Path.Combine(folder, "client.crt"), Path.Combine(folder, "client.key"));
        using X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var ssl = new SslStream(tcp.GetStream());
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "flatlora-silo",
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, server, _, _) => server is X509Certificate2 silo && silo.Issuer == ca.Subject,
            });
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            int read = await ssl.ReadAsync(new byte[1], quiet.Token);   // Orleans waits for the client's preamble: no bytes, no close
            return read > 0;
        }
        catch (OperationCanceledException)
        {
            return true;   // still open after 3 s: admitted
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    // A client certificate from the cluster CA whose validity ended a minute ago (it began with the CA's).
    private static void WriteExpiredClient(string caFolder, string folder)
    {
        Directory.CreateDirectory(folder);
        using X509Certificate2 ca = X509Certificate2.CreateFromPemFile(Path.Combine(caFolder, "ca.crt"), Path.Combine(caFolder, "ca.key"));
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest("CN=expired, O=nlp, OU=flatlora-user", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.Create(ca, ca.NotBefore.ToUniversalTime(), DateTimeOffset.UtcNow.AddMinutes(-1), [1, 2, 3, 4]);
        File.WriteAllText(Path.Combine(folder, "client.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "client.key"), key.ExportPkcs8PrivateKeyPem());
        File.Copy(Path.Combine(caFolder, "ca.crt"), Path.Combine(folder, "ca.crt"));
    }
}
