using FlatLora.Tests.Shared;

namespace FlatLora.Trainer.Tests;

/// <summary>Which way the trainer's folders may depend on each other (torchtune's rule: builders place behaviour).</summary>
public class ArchitectureTests
{
    private static IEnumerable<(string File, string Text)> Sources(string folder) =>
        Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "src", "Trainer", folder), "*.cs", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(RepositoryPaths.Root, f), File.ReadAllText(f)));

    [Theory]
    [InlineData("Lora")]
    [InlineData("Model")]
    [InlineData("Distributed")]
    public void A_folder_below_the_methods_never_reads_flat_lora(string folder)
    {
        var offenders = Sources(folder).Where(s => s.Text.Contains("FlatLora.Trainer.Flat", StringComparison.Ordinal)
                                                    || s.Text.Contains("PerturbationFingerprint", StringComparison.Ordinal)).Select(s => s.File).ToList();
        Assert.True(offenders.Count == 0, $"these files depend on Flat-LoRA: {string.Join(", ", offenders)}");
    }

    [Fact]
    public void The_trainer_knows_nothing_of_orleans()
    {
        string project = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Trainer", "FlatLora.Trainer.csproj"));
        Assert.DoesNotContain("Include=\"Microsoft.Orleans", project, StringComparison.Ordinal);
        Assert.DoesNotContain(Sources(""), s => s.Text.Contains("using Orleans", StringComparison.Ordinal));
    }

    [Fact]
    public void Neither_the_trainer_nor_the_collectives_reference_asp_net_core_and_the_collectives_know_no_tensors()
    {
        string Project(string name) => File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", name, $"FlatLora.{name}.csproj"));
        foreach (string name in new[] { "Trainer", "Collectives" })
        {
            Assert.DoesNotContain("Include=\"Microsoft.AspNetCore", Project(name), StringComparison.Ordinal);
            Assert.DoesNotContain("Include=\"Grpc.AspNetCore", Project(name), StringComparison.Ordinal);
        }
        string collectives = Project("Collectives");
        Assert.DoesNotContain("Include=\"TorchSharp", collectives, StringComparison.Ordinal);
        Assert.DoesNotContain("Include=\"Microsoft.Orleans", collectives, StringComparison.Ordinal);
        Assert.DoesNotContain("<ProjectReference", collectives, StringComparison.Ordinal);
    }
}
