namespace FlatLora.Spec.Tests;

public sealed class ClusterPathsTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "flatlora-paths-tests", Guid.NewGuid().ToString("N"));

    public ClusterPathsTests()
    {
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
        var paths = new ClusterPaths(Root, Path.Combine(_work, "data"));
        TrainSpec confined = paths.Confine(new TrainSpec { Data = new DataSpec { Train = "train.jsonl" }, Model = new ModelSpec { Path = "meta-llama/Llama-2-7b-hf" } });
        Assert.Equal(Path.Combine(_work, "data", "train.jsonl"), confined.Data.Train);
        Assert.Equal("meta-llama/Llama-2-7b-hf", confined.Model.Path);   // a hub id, resolved in the silo's cache
        var errors = Assert.Throws<SpecException>(() => paths.Confine(new TrainSpec
        {
            Data = new DataSpec { Train = "/etc/passwd", Eval = "../outside/e.jsonl" },
            Model = new ModelSpec { Path = "/opt/models/x" },
        })).Errors;
        Assert.Equal(["data.train", "data.eval", "model.path"], errors.Select(e => e.Field));
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
