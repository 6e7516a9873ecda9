using System.Reflection;
using FlatLora.Tests.Shared;

namespace FlatLora.Benchmarks.Tests;

/// <summary>The product assemblies hold the product only: benchmarks, simulated devices and silo kills live in FlatLora.Benchmarks.</summary>
public sealed class ProductAssembliesTests
{
    public static TheoryData<string> Products => ["FlatLora.Spec", "FlatLora.Collectives", "FlatLora.Trainer", "FlatLora.Abstractions", "FlatLora.Grains"];

    [Theory]
    [MemberData(nameof(Products))]
    public void A_product_assembly_holds_no_benchmark_type_and_does_not_reference_the_benchmarks(string name)
    {
        Assembly product = Assembly.Load(name);
        var benchmarkish = product.GetTypes()
            .Where(t => t.Namespace?.Split('.').Any(part => part is "Bench" or "Benchmarks") == true
                        || t.Name.Contains("Chaos", StringComparison.Ordinal) || t.Name.StartsWith("Simulated", StringComparison.Ordinal)
                        || t.Name.Contains("Benchmark", StringComparison.Ordinal))
            .Select(t => t.FullName).ToList();
        Assert.True(benchmarkish.Count == 0, $"{name} holds benchmark code: {string.Join(", ", benchmarkish)}");
        Assert.DoesNotContain(product.GetReferencedAssemblies(), r => r.Name == "FlatLora.Benchmarks");
    }

    [Fact]
    public void The_silo_host_does_not_reference_the_benchmarks_and_no_test_compiles_a_file_of_src()
    {
        string silo = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Silo", "FlatLora.Silo.csproj"));
        Assert.DoesNotContain("Benchmarks", silo, StringComparison.Ordinal);
        var borrowed = Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, "tests"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => File.ReadAllText(p).Contains("Include=\"../../src/", StringComparison.Ordinal) && File.ReadAllText(p).Contains("<Compile Include=\"../../src/", StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(RepositoryPaths.Root, p)).ToList();
        Assert.True(borrowed.Count == 0, $"these test projects compile a file of another project: {string.Join(", ", borrowed)}");
    }
}
