namespace FlatLora.Spec;

/// <summary>
/// What the file system would really open: paths with every symbolic link resolved, and whether a folder's whole tree
/// (its files and the links in it) stays inside given roots. Parts that do not exist are kept as written, so an answer
/// never depends on whether a target outside exists.
/// </summary>
internal static class RealPaths
{
    /// <summary>Entries a tree walk looks at before it gives up: a model folder holds tens of files, not millions.</summary>
    private const int MaxEntries = 100_000;

    /// <summary><paramref name="fullPath"/> with every symbolic link along it resolved (the parts that do not exist yet are kept as written).</summary>
    public static string Resolve(string fullPath, int depth = 0)
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
                return Resolve(rest.Length == 0 ? target : Path.Combine(target, rest), depth + 1);
            }
            if (!info.Exists && !Directory.Exists(next))
                return Path.Combine([next, .. parts[(i + 1)..]]);
            current = next;
        }
        return current;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies under it (both already resolved).</summary>
    public static bool IsInside(string path, string root)
    {
        string prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path == root || path.StartsWith(prefix, StringComparison.Ordinal);
    }

    public static bool IsInsideAny(string path, IEnumerable<string> roots) => roots.Any(root => IsInside(path, root));

    /// <summary>
    /// The first entry of <paramref name="folder"/>'s tree, relative to it, whose real path leaves every root (a file or
    /// folder linked out, or a link into a folder whose own links lead out); null when the whole tree stays inside.
    /// Links are followed (each real folder once), so a loop ends.
    /// </summary>
    public static string? FirstEscape(string folder, IReadOnlyList<string> roots)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<(string Path, string Relative)>();
        pending.Push((folder, ""));
        int entries = 0;
        while (pending.TryPop(out var next))
        {
            string real = Resolve(Path.GetFullPath(next.Path));
            if (!IsInsideAny(real, roots))
                return next.Relative.Length == 0 ? "." : next.Relative;
            if (!Directory.Exists(real) || !seen.Add(real))
                continue;
            foreach (string entry in Directory.EnumerateFileSystemEntries(real))
            {
                if (++entries > MaxEntries)
                    throw new IOException($"{folder} holds more than {MaxEntries} files and folders; a model folder holds tens");
                pending.Push((entry, Path.Combine(next.Relative, Path.GetFileName(entry))));
            }
        }
        return null;
    }
}
