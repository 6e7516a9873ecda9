using FlatLora.Tests.Shared;
using System.Text.Json;
using FlatLora.Benchmarks.Training;
using FlatLora.Trainer.Model;

namespace FlatLora.Benchmarks.Tests;

/// <summary>scripts/bench_reference.py (PyTorch + PEFT) must build the same shapes as `flatlora bench train`.</summary>
public sealed class ReferenceBenchmarkShapesTests
{
    [Fact]
    public void The_python_reference_uses_the_same_shapes()
    {
        string script = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "scripts", "bench_reference.py"));
        int begin = script.IndexOf("# shapes:begin", StringComparison.Ordinal), end = script.IndexOf("# shapes:end", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "shape markers missing in bench_reference.py");
        string literal = script[begin..end];
        literal = literal[literal.IndexOf('{', StringComparison.Ordinal)..(literal.LastIndexOf('}') + 1)]
            .Replace("True", "true", StringComparison.Ordinal).Replace("False", "false", StringComparison.Ordinal);
        using JsonDocument shapes = JsonDocument.Parse(literal);
        Assert.Equal(BenchShapes.Names.Order(StringComparer.Ordinal), shapes.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (string name in BenchShapes.Names)
        {
            LlamaConfig expected = BenchShapes.Get(name);
            JsonElement actual = shapes.RootElement.GetProperty(name);
            Assert.Equal(expected.HiddenSize, actual.GetProperty("hidden").GetInt32());
            Assert.Equal(expected.IntermediateSize, actual.GetProperty("intermediate").GetInt32());
            Assert.Equal(expected.NumHiddenLayers, actual.GetProperty("layers").GetInt32());
            Assert.Equal(expected.NumAttentionHeads, actual.GetProperty("heads").GetInt32());
            Assert.Equal(expected.NumKeyValueHeads, actual.GetProperty("kv_heads").GetInt32());
            Assert.Equal(expected.VocabSize, actual.GetProperty("vocab").GetInt32());
            Assert.Equal(expected.TieWordEmbeddings, actual.GetProperty("tie").GetBoolean());
            Assert.Equal(expected.RopeTheta, actual.GetProperty("theta").GetDouble());
        }
    }
}
