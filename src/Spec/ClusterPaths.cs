namespace FlatLora.Spec;

/// <summary>
/// Where a cluster lets a submitted spec reach: it writes only under <see cref="OutputRoot"/>, and reads data and
/// models under <see cref="DataRoot"/> or the output root. Every path a spec names is resolved inside them, with
/// <c>..</c> and symbolic links followed first, so neither an absolute path, an escape nor a link pointing out of a
/// root gets through. A spec from the wire is confined at the cluster's edge, before it is stored or run.
/// </summary>
public sealed record ClusterPaths(string OutputRoot, string? DataRoot = null)
{
    /// <summary>
    /// The spec with <c>output_dir</c>, <c>data.train</c>, <c>data.eval</c> and <c>model.path</c> made absolute inside the
    /// roots (relative paths are taken from the output root, data from the data root when there is one); throws a
    /// <see cref="SpecException"/> naming every field that escapes. Hub ids (org/name) are not paths and pass as they are.
    /// </summary>
    public TrainSpec Confine(TrainSpec spec)
    {
        var errors = new List<SpecError>();
        string outputRoot = RealPath(Path.GetFullPath(OutputRoot));
        string? dataRoot = DataRoot is null ? null : RealPath(Path.GetFullPath(DataRoot));
        string[] readRoots = dataRoot is null ? [outputRoot] : [dataRoot, outputRoot];

        string? Inside(string? value, string field, string baseRoot, string[] roots, string what)
        {
            if (value is null)
                return null;
            string full = Path.GetFullPath(Path.IsPathRooted(value) ? value : Path.Combine(baseRoot, value));
            string real = RealPath(full);
            if (roots.Any(root => IsInside(real, root)))
                return full;
            errors.Add(new SpecError(field, $"{value} is outside the cluster's {what} ({string.Join(" or ", roots)}); give a path inside it"));
            return value;
        }

        string outputDir = Inside(spec.OutputDir, "output_dir", outputRoot, [outputRoot], "output root")!;
        string dataBase = dataRoot ?? outputRoot;
        DataSpec data = spec.Data with
        {
            Train = Inside(spec.Data.Train, "data.train", dataBase, readRoots, DataRoot is null ? "output root" : "data roots"),
            Eval = Inside(spec.Data.Eval, "data.eval", dataBase, readRoots, DataRoot is null ? "output root" : "data roots"),
        };
        string? modelPath = spec.Model.Path is { } path && HubCache.LooksLikeId(path) && !Directory.Exists(Path.Combine(dataBase, path))
            ? path
            : Inside(spec.Model.Path, "model.path", dataBase, readRoots, DataRoot is null ? "output root" : "data roots");
        SpecException.ThrowIfAny(errors);
        return spec with { OutputDir = outputDir, Data = data, Model = spec.Model with { Path = modelPath } };
    }

    private static bool IsInside(string path, string root)
    {
        string prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path == root || path.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>
    /// <paramref name="fullPath"/> with every symbolic link along it resolved (the parts that do not exist yet are
    /// kept as written): what the file system would really open or create.
    /// </summary>
    internal static string RealPath(string fullPath, int depth = 0)
    {
        if (depth > 40)
            throw new IOException($"{fullPath}: too many levels of symbolic links");
        string root = Path.GetPathRoot(fullPath)!;
        string current = root;
        string[] parts = fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            var info = new FileInfo(next);
            if (info.LinkTarget is not null)
            {
                // Resolve the link relative to its folder, then whatever remains of the path under its target.
                string target = Path.GetFullPath(Path.IsPathRooted(info.LinkTarget) ? info.LinkTarget : Path.Combine(current, info.LinkTarget));
                string rest = string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..]);
                return RealPath(rest.Length == 0 ? target : Path.Combine(target, rest), depth + 1);
            }
            if (!info.Exists && !Directory.Exists(next))
                return Path.Combine([next, .. parts[(i + 1)..]]);
            current = next;
        }
        return current;
    }
}
