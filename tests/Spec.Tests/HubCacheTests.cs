namespace FlatLora.Spec.Tests;

/// <summary>Hub ids resolve offline from a real cache layout: refs/ name commits, snapshots/ link into blobs/.</summary>
[Collection("environment")]
public sealed class HubCacheTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "flatlora-hub-tests", Guid.NewGuid().ToString("N"));
    private readonly string? _before = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
    private const string CommitA = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111", CommitB = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";

    public HubCacheTests()
    {
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", _root);
        string repo = Path.Combine(_root, "models--meta-llama--Llama-2-7b-hf");
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        File.WriteAllText(Path.Combine(repo, "blobs", "0123abcd"), "{}");
        foreach (string commit in new[] { CommitA, CommitB })
        {
            string snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit)).FullName;
            File.CreateSymbolicLink(Path.Combine(snapshot, "config.json"), Path.Combine("..", "..", "blobs", "0123abcd"));
        }
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), CommitB);
        File.WriteAllText(Path.Combine(repo, "refs", "v1"), CommitA + "\n");
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", _before);
        Directory.Delete(_root, recursive: true);
    }

    private string Snapshot(string commit) => Path.Combine(_root, "models--meta-llama--Llama-2-7b-hf", "snapshots", commit);

    [Fact]
    public void An_id_resolves_to_the_snapshot_its_main_ref_names()
    {
        Assert.Equal(Snapshot(CommitB), HubCache.Resolve("meta-llama/Llama-2-7b-hf"));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(HubCache.Resolve("meta-llama/Llama-2-7b-hf"), "config.json")));
    }

    [Fact]
    public void A_revision_is_a_ref_or_a_commit()
    {
        Assert.Equal(Snapshot(CommitA), HubCache.Resolve("meta-llama/Llama-2-7b-hf@v1"));
        Assert.Equal(Snapshot(CommitA), HubCache.Resolve($"meta-llama/Llama-2-7b-hf@{CommitA}"));
        var error = Assert.Throws<DirectoryNotFoundException>(() => HubCache.Resolve("meta-llama/Llama-2-7b-hf@nope"));
        Assert.Contains("revision 'nope'", error.Message);
    }

    [Fact]
    public void A_model_that_is_not_cached_says_where_it_looked_and_that_nothing_is_downloaded()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => HubCache.Resolve("meta-llama/Llama-3-8B"));
        Assert.Contains(Path.Combine(_root, "models--meta-llama--Llama-3-8B"), error.Message);
        Assert.Contains("nothing is downloaded", error.Message);
        Assert.StartsWith("model.path: ", error.Message);
    }

    [Fact]
    public void An_existing_folder_and_a_plain_path_are_left_alone()
    {
        Assert.Equal(_root, HubCache.Resolve(_root));
        Assert.Equal("./models/x", HubCache.Resolve("./models/x"));
        Assert.Equal("/no/such/folder", HubCache.Resolve("/no/such/folder"));
    }

    [Fact]
    public void HF_HOME_is_used_when_HF_HUB_CACHE_is_not_set()
    {
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", null);
        string? home = Environment.GetEnvironmentVariable("HF_HOME");
        try
        {
            Environment.SetEnvironmentVariable("HF_HOME", "/opt/hf");
            Assert.Equal("/opt/hf/hub", HubCache.Root());
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HOME", home);
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", _root);
        }
    }

    [Fact]
    public void The_validator_accepts_a_cached_id_and_names_a_missing_one()
    {
        Assert.DoesNotContain(TrainSpecValidator.Validate(new TrainSpec { Model = new ModelSpec { Path = "meta-llama/Llama-2-7b-hf" } }), e => e.Field == "model.path");
        SpecError missing = Assert.Single(TrainSpecValidator.Validate(new TrainSpec { Model = new ModelSpec { Path = "meta-llama/Llama-3-8B" } }), e => e.Field == "model.path");
        Assert.Contains("Hugging Face cache has no copy", missing.Message);
    }
}
