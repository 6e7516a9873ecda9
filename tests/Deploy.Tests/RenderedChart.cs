using YamlDotNet.RepresentationModel;

namespace FlatLora.Deploy.Tests;

/// <summary>`helm template` output of the chart, kept as a file (for the validator) and as parsed manifests.</summary>
internal sealed class RenderedChart
{
    private RenderedChart(string file, IReadOnlyList<YamlMappingNode> manifests)
    {
        File = file;
        Manifests = manifests;
    }

    public string File { get; }
    public IReadOnlyList<YamlMappingNode> Manifests { get; }

    /// <summary>Renders with the given values files (relative to the chart) and --set arguments; throws with helm's output on failure.</summary>
    public static RenderedChart Render(string name, IEnumerable<string> valuesFiles, params string[] sets)
    {
        string[] args = ["template", "flatlora", DeployTools.Chart, "--namespace", "training",
            .. valuesFiles.SelectMany(f => new[] { "-f", Path.Combine(DeployTools.Chart, f) }),
            .. sets.SelectMany(s => new[] { "--set", s })];
        (int exit, string output) = DeployTools.Exec(DeployTools.Helm, args);
        if (exit != 0)
            throw new InvalidOperationException($"helm {string.Join(' ', args)} failed ({exit}):\n{output}");
        string file = Path.Combine(Path.GetTempPath(), $"flatlora-chart-{name}-{Guid.NewGuid():N}.yaml");
        System.IO.File.WriteAllText(file, output);
        var stream = new YamlStream();
        using (var reader = new StringReader(output))
            stream.Load(reader);
        return new RenderedChart(file, stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList());
    }

    public IEnumerable<YamlMappingNode> OfKind(string kind) => Manifests.Where(m => Scalar(m, "kind") == kind);

    public YamlMappingNode Single(string kind, string nameSuffix) =>
        OfKind(kind).Single(m => Scalar(m, "metadata", "name")!.EndsWith(nameSuffix, StringComparison.Ordinal));

    /// <summary>The silo StatefulSet's container.</summary>
    public YamlMappingNode SiloContainer =>
        (YamlMappingNode)Sequence(Single("StatefulSet", "flatlora"), "spec", "template", "spec", "containers")[0];

    public IReadOnlyDictionary<string, string?> SiloEnvironment =>
        Sequence(SiloContainer, "env").Cast<YamlMappingNode>()
            .ToDictionary(e => Scalar(e, "name")!, e => Scalar(e, "value"));

    public static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (string key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? child))
                return null;
            node = child;
        }
        return node;
    }

    public static string? Scalar(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    public static YamlSequenceNode Sequence(YamlNode node, params string[] path) =>
        Node(node, path) as YamlSequenceNode ?? throw new KeyNotFoundException($"no sequence at {string.Join('.', path)}");
}
