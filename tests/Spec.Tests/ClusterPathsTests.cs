namespace FlatLora.Spec.Tests;

public sealed class ClusterPathsTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-paths-tests", Guid.NewGuid().ToString("N"));

    private const string Commit = "89abcdef0123456789abcdef0123456789abcdef";

    public ClusterPathsTests()
    {
        string repo = Path.Combine(_work, "hub", "models--meta-llama--Llama-2-7b-hf");
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", Commit));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);
        File.WriteAllText(Path.Combine(repo, "snapshots", Commit, "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(_work, "root", "inner"));
        Directory.CreateDirectory(Path.Combine(_work, "outside"));
        Directory.CreateDirectory(Path.Combine(_work, "data"));
        File.WriteAllText(Path.Combine(_work, "data", "train.jsonl"), "{}\n");
        Directory.CreateSymbolicLink(Path.Combine(_work, "root", "out"), Path.Combine(_work, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(_work, "root", "in"), Path.Combine(_work, "root", "inner"));
    }

    private string Root => Path.Combine(_work, "root");

    private SpecError RefusedOutput(string outputDir) =>
        Assert.Single(Assert.Throws<SpecException>(() => new ClusterPaths(Root).Confine(new TrainSpec { OutputDir = outputDir })).Errors);

    [Fact]
    public void A_relative_output_dir_is_taken_from_the_root()
    {
        Assert.Equal(Path.Combine(Root, "runs", "x"), new ClusterPaths(Root).Confine(new TrainSpec { OutputDir = "runs/x" }).OutputDir);
        Assert.Equal(Path.Combine(Root, "in", "x"), new ClusterPaths(Root).Confine(new TrainSpec { OutputDir = "in/x" }).OutputDir);   // a link that stays inside
        Assert.Equal(Root, new ClusterPaths(Root).Confine(new TrainSpec { OutputDir = Root }).OutputDir);
    }

    [Theory]
    [InlineData("../outside/x")]
    [InlineData("inner/../../outside")]
    [InlineData("/etc")]
    [InlineData("out/x")]
    [InlineData("out")]
    public void Escapes_are_refused_naming_output_dir(string outputDir)
    {
        SpecError error = RefusedOutput(outputDir);
        Assert.Equal("output_dir", error.Field);
        Assert.Contains($"{outputDir} is outside the cluster's output root", error.Message);
    }

    [Fact]
    public void A_sibling_folder_sharing_the_roots_name_prefix_is_outside()
    {
        Directory.CreateDirectory(Root + "-evil");
        Assert.Equal("output_dir", RefusedOutput(Root + "-evil/x").Field);
    }

    [Fact]
    public void Data_and_model_paths_read_from_the_data_root_or_the_output_root()
    {
        var paths = new ClusterPaths(Root, Path.Combine(_work, "data"), Path.Combine(_work, "hub"));
        TrainSpec confined = paths.Confine(new TrainSpec { Data = new DataSpec { Train = "train.jsonl" }, Model = new ModelSpec { Path = "meta-llama/Llama-2-7b-hf" } });
        Assert.Equal(Path.Combine(_work, "data", "train.jsonl"), confined.Data.Train);
        // A hub id is resolved in the silo's cache, to the snapshot its main ref names: every rank loads that commit.
        Assert.Equal(Path.Combine(_work, "hub", "models--meta-llama--Llama-2-7b-hf", "snapshots", Commit), confined.Model.Path);
        Assert.Equal(confined, paths.Confine(confined));   // confined twice (a sweep's planner, then the experiment): the same
        var errors = Assert.Throws<SpecException>(() => paths.Confine(new TrainSpec
        {
            Data = new DataSpec { Train = "/etc/passwd", Eval = "../outside/e.jsonl" },
            Model = new ModelSpec { Path = "/opt/models/x" },
        })).Errors;
        Assert.Equal(["data.train", "data.eval", "model.path"], errors.Select(e => e.Field));
    }

    [Fact]
    public void A_model_folder_inside_the_root_whose_files_link_out_is_refused_naming_the_file()
    {
        string model = Directory.CreateDirectory(Path.Combine(Root, "models", "m")).FullName;
        File.WriteAllText(Path.Combine(_work, "outside", "weights"), "x");
        File.CreateSymbolicLink(Path.Combine(model, "model.safetensors"), Path.Combine(_work, "outside", "weights"));
        SpecError error = Assert.Single(Assert.Throws<SpecException>(() =>
            new ClusterPaths(Root).Confine(new TrainSpec { Model = new ModelSpec { Path = "models/m" } })).Errors);
        Assert.Equal("model.path", error.Field);
        Assert.Contains("model.safetensors is a link out of the cluster's output root", error.Message);
        File.Delete(Path.Combine(model, "model.safetensors"));
        File.CreateSymbolicLink(Path.Combine(model, "model.safetensors"), Path.Combine(_work, "outside", "no-such-file"));
        Assert.Equal(error, Assert.Single(Assert.Throws<SpecException>(() =>
            new ClusterPaths(Root).Confine(new TrainSpec { Model = new ModelSpec { Path = "models/m" } })).Errors));
    }

    [Fact]
    public void A_hub_id_missing_from_the_silos_cache_is_refused_naming_model_path_and_the_cache()
    {
        SpecError error = Assert.Single(Assert.Throws<SpecException>(() => new ClusterPaths(Root, HubCacheRoot: Path.Combine(_work, "hub"))
            .Confine(new TrainSpec { Model = new ModelSpec { Path = "meta-llama/Llama-3-8B" } })).Errors);
        Assert.Equal("model.path", error.Field);
        Assert.Contains(Path.Combine(_work, "hub", "models--meta-llama--Llama-3-8B"), error.Message);
    }

    [Fact]
    public void An_existing_and_a_missing_file_outside_the_root_get_the_same_answer()
    {
        string Refusal(string train) => Assert.Single(Assert.Throws<SpecException>(() =>
            new ClusterPaths(Root).Confine(new TrainSpec { Data = new DataSpec { Train = train } })).Errors).Message.Replace(train, "X", StringComparison.Ordinal);
        Assert.Equal(Refusal("/etc/passwd"), Refusal("/etc/no-such-file"));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
