namespace FlatLora.Client.Commands;

/// <summary>An --adapter value: "label=folder", or a folder labelled by its parent folder's name (runs/flat/adapter → flat).</summary>
internal static class AdapterArgument
{
    public static (string Label, string Directory) Parse(string value)
    {
        int equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
            return (value[..equals], value[(equals + 1)..]);
        return (Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(Path.GetFullPath(value)) ?? value)) is { Length: > 0 } parent ? parent : value, value);
    }

    /// <summary>Every --adapter, each folder checked to exist, labels unique.</summary>
    public static List<(string Label, string Directory)> ParseAll(IEnumerable<string>? values)
    {
        var adapters = (values ?? []).Select(Parse).ToList();
        foreach ((string label, string directory) in adapters)
        {
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"--adapter {label}: folder not found: {directory}");
        }
        if (adapters.GroupBy(a => a.Label).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"--adapter: the label '{twice.Key}' is used twice (label each one: --adapter name=folder)");
        return adapters;
    }
}
