namespace FlatLora.Spec.Tests;

/// <summary>
/// A hub id is a name inside the Hugging Face cache, never a way out of it: a revision that is not a ref name, a repo
/// id with <c>..</c>, and every symbolic link (ref, snapshot, blob) that leads outside the cache are refused naming
/// model.path, without reading the target and with one message whether or not the target exists.
/// </summary>
[Collection("environment")]
public sealed class HubCacheEscapeTests : IDisposable
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private const string SecretContent = "root:x:0:0:hub-escape-marker";
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-hub-escape", Guid.NewGuid().ToString("N"));
    private readonly string? _before = Environment.GetEnvironmentVariable("HF_HUB_CACHE");

    public HubCacheEscapeTests()
    {
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret"), SecretContent);
        File.WriteAllText(Path.Combine(Outside, "config.json"), SecretContent);
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", Cache);
    }

    private string Cache => Path.Combine(_work, "hub");
    private string Outside => Path.Combine(_work, "outside");
    private string Repo => Path.Combine(Cache, "models--meta-llama--Llama-2-7b-hf");

    /// <summary>A well-formed cache entry: refs/main names the commit, the snapshot links config.json into blobs/.</summary>
    private void CacheTheModel(bool refs = true, bool snapshot = true, bool blobs = true)
    {
        Directory.CreateDirectory(Path.Combine(Repo, "blobs"));
        File.WriteAllText(Path.Combine(Repo, "blobs", "c0ffee"), "{}");
        if (snapshot)
        {
            Directory.CreateDirectory(Path.Combine(Repo, "snapshots", Commit));
            if (blobs)
                File.CreateSymbolicLink(Path.Combine(Repo, "snapshots", Commit, "config.json"), Path.Combine("..", "..", "blobs", "c0ffee"));
        }
        if (refs)
        {
            Directory.CreateDirectory(Path.Combine(Repo, "refs"));
            File.WriteAllText(Path.Combine(Repo, "refs", "main"), Commit);
        }
    }

    private static string Refusal(string id)
    {
        var error = Assert.ThrowsAny<IOException>(() => HubCache.Resolve(id));
        Assert.StartsWith("model.path: ", error.Message);
        Assert.DoesNotContain("root:x:0:0", error.Message);
        Assert.DoesNotContain("hub-escape-marker", error.Message);
        return error.Message;
    }

    [Fact]
    public void A_revision_that_climbs_out_of_refs_is_refused_without_reading_the_file()
    {
        CacheTheModel();
        string up = string.Concat(Enumerable.Repeat("../", 12));
        string existing = $"meta-llama/Llama-2-7b-hf@{up}{Outside.TrimStart('/')}/secret";
        string missing = $"meta-llama/Llama-2-7b-hf@{up}{Outside.TrimStart('/')}/no-such-file";
        string message = Refusal(existing);
        Assert.Contains("revision", message);
        Assert.Equal(message.Replace(existing, "X", StringComparison.Ordinal), Refusal(missing).Replace(missing, "X", StringComparison.Ordinal));
        Refusal("meta-llama/Llama-2-7b-hf@../../../../../../../../../etc/passwd");
    }

    [Fact]
    public void An_absolute_revision_is_refused()
    {
        CacheTheModel();
        string existing = $"meta-llama/Llama-2-7b-hf@{Outside}/secret", missing = $"meta-llama/Llama-2-7b-hf@{Outside}/nothing";
        Assert.Equal(Refusal(existing).Replace(existing, "X", StringComparison.Ordinal), Refusal(missing).Replace(missing, "X", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("meta-llama/..")]
    [InlineData("meta-llama/..@main")]
    [InlineData("meta..llama/x")]
    [InlineData("meta-llama/a--b")]
    public void A_repo_id_with_dot_dot_or_a_double_dash_is_not_an_id(string id)
    {
        Directory.CreateDirectory(Path.Combine(Cache, $"models--{id.Split('@')[0].Replace("/", "--", StringComparison.Ordinal)}"));
        string message = Refusal(id);
        Assert.Contains("not a valid Hugging Face model id", message);
    }

    [Fact]
    public void A_ref_symlinked_out_of_the_cache_is_refused_whether_or_not_its_target_exists()
    {
        CacheTheModel(refs: false);
        Directory.CreateDirectory(Path.Combine(Repo, "refs"));
        File.CreateSymbolicLink(Path.Combine(Repo, "refs", "main"), Path.Combine(Outside, "secret"));
        string toExisting = Refusal("meta-llama/Llama-2-7b-hf");
        File.Delete(Path.Combine(Repo, "refs", "main"));
        File.CreateSymbolicLink(Path.Combine(Repo, "refs", "main"), Path.Combine(Outside, "no-such-file"));
        Assert.Equal(toExisting, Refusal("meta-llama/Llama-2-7b-hf"));
        Assert.Contains("outside the Hugging Face cache", toExisting);
    }

    [Fact]
    public void A_ref_whose_content_is_not_a_commit_hash_is_refused_and_not_echoed()
    {
        CacheTheModel(refs: false);
        Directory.CreateDirectory(Path.Combine(Repo, "refs"));
        File.WriteAllText(Path.Combine(Repo, "refs", "main"), SecretContent);
        Assert.Contains("does not hold a commit hash", Refusal("meta-llama/Llama-2-7b-hf"));
    }

    [Fact]
    public void A_snapshot_symlinked_out_of_the_cache_is_refused_whether_or_not_its_target_exists()
    {
        CacheTheModel(snapshot: false);
        Directory.CreateDirectory(Path.Combine(Repo, "snapshots"));
        Directory.CreateSymbolicLink(Path.Combine(Repo, "snapshots", Commit), Outside);
        string toExisting = Refusal("meta-llama/Llama-2-7b-hf");
        Directory.Delete(Path.Combine(Repo, "snapshots", Commit));
        Directory.CreateSymbolicLink(Path.Combine(Repo, "snapshots", Commit), Path.Combine(Outside, "no-such-folder"));
        Assert.Equal(toExisting, Refusal("meta-llama/Llama-2-7b-hf"));
        Assert.Contains("outside the Hugging Face cache", toExisting);
    }

    [Fact]
    public void A_blob_link_out_of_the_cache_is_refused_whether_or_not_its_target_exists()
    {
        CacheTheModel(blobs: false);
        string link = Path.Combine(Repo, "snapshots", Commit, "config.json");
        File.CreateSymbolicLink(link, Path.Combine(Outside, "secret"));
        string toExisting = Refusal("meta-llama/Llama-2-7b-hf");
        File.Delete(link);
        File.CreateSymbolicLink(link, Path.Combine(Outside, "no-such-file"));
        Assert.Equal(toExisting, Refusal("meta-llama/Llama-2-7b-hf"));
        Assert.Contains("config.json", toExisting);
        Assert.Contains("outside the Hugging Face cache", toExisting);
    }

    [Fact]
    public void The_validator_names_model_path_for_every_escape()
    {
        CacheTheModel();
        foreach (string id in new[] { "meta-llama/Llama-2-7b-hf@../../../../etc/passwd", $"meta-llama/Llama-2-7b-hf@{Outside}/secret", "meta-llama/..@main" })
        {
            SpecError error = Assert.Single(TrainSpecValidator.Validate(new TrainSpec { Model = new ModelSpec { Path = id } }), e => e.Field == "model.path");
            Assert.DoesNotContain("root:x:0:0", error.Message);
        }
    }

    [Fact]
    public void A_well_formed_entry_still_resolves_and_a_revision_may_be_a_ref_or_a_full_commit()
    {
        CacheTheModel();
        string snapshot = Path.Combine(Repo, "snapshots", Commit);
        Assert.Equal(snapshot, HubCache.Resolve("meta-llama/Llama-2-7b-hf"));
        Assert.Equal(snapshot, HubCache.Resolve($"meta-llama/Llama-2-7b-hf@{Commit}"));
        Assert.Equal(snapshot, HubCache.Resolve("meta-llama/Llama-2-7b-hf@main"));
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", _before);
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
