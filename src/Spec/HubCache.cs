using System.Text;
using System.Text.RegularExpressions;

namespace FlatLora.Spec;

/// <summary>
/// Model ids (<c>meta-llama/Llama-2-7b-hf</c>, optionally <c>@revision</c>) resolved offline to a snapshot folder of the
/// local Hugging Face cache: <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>; the
/// revision (default <c>main</c>) is a ref under <c>refs/</c> or a 40-hex commit under <c>snapshots/</c>. Nothing is
/// ever downloaded. A folder that exists is always taken as it is.
/// </summary>
/// <remarks>
/// An id is a name inside the cache, never a path out of it: its parts follow the hub's rules, its revision git's rules
/// for ref names, a ref file counts only when it holds a commit hash (and is never echoed), and the snapshot, with
/// every file it links to, must lie inside the cache once each symbolic link is resolved. Refusals read the same
/// whether or not what lies outside exists.
/// </remarks>
public static partial class HubCache
{
    // The shape of an id; its parts are then checked against the hub's and git's rules, so a malformed id gets a reason.
    [GeneratedRegex(@"^(?<org>[^/@\s]+)/(?<name>[^/@\s]+)(@(?<rev>.*))?$")]
    private static partial Regex IdShape();

    // A repo id part: letters, digits, '-', '_', '.'; neither '-' nor '.' at either end; at most 96 characters.
    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoPart();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();

    /// <summary>
    /// Whether <paramref name="value"/> reads as a hub id rather than a path: it has the shape and is not an existing
    /// folder under <paramref name="baseFolder"/> (default: the working directory). <c>org/..</c> is always an id (and
    /// then refused as one): nobody names a folder's parent that way, and an escape must not pass as a folder.
    /// </summary>
    public static bool LooksLikeId(string value, string? baseFolder = null)
    {
        Match shape = IdShape().Match(value);
        if (!HasIdShape(value))
            return false;
        return shape.Groups["name"].Value is "." or ".." || !Directory.Exists(baseFolder is null ? value : Path.Combine(baseFolder, value));
    }

    /// <summary>Whether <paramref name="value"/> has the shape org/name[@revision], whatever exists on disk.</summary>
    public static bool HasIdShape(string value) => !value.StartsWith('.') && !value.StartsWith('/') && IdShape().IsMatch(value);

    /// <summary>
    /// The folder <paramref name="pathOrId"/> names: itself when it exists, else the cached snapshot of the hub id in
    /// <paramref name="cacheRoot"/> (default <see cref="Root"/>). Fails with a <see cref="DirectoryNotFoundException"/>
    /// naming <paramref name="field"/> and where it looked; returns a path that does not exist only for a value that is
    /// not a hub id.
    /// </summary>
    public static string Resolve(string pathOrId, string field = "model.path", string? cacheRoot = null)
    {
        if (!LooksLikeId(pathOrId))
            return pathOrId;
        return ResolveId(pathOrId, field, cacheRoot ?? Root());
    }

    /// <summary>The cached snapshot of hub id <paramref name="id"/> in <paramref name="cacheRoot"/>, checked as the remarks say.</summary>
    public static string ResolveId(string id, string field, string cacheRoot)
    {
        Match shape = IdShape().Match(id);
        string org = shape.Groups["org"].Value, name = shape.Groups["name"].Value;
        string revision = shape.Groups["rev"].Success ? shape.Groups["rev"].Value : "main";
        DirectoryNotFoundException Refused(string what) => new($"{field}: '{id}' {what}");
        if (!shape.Success)
            throw Refused("is not a folder, and not a valid Hugging Face model id: expected org/name or org/name@revision");
        if ((InvalidRepoPart(org) ?? InvalidRepoPart(name)) is { } badPart)
            throw Refused($"is not a folder, and not a valid Hugging Face model id: {badPart}");
        if (InvalidRevision(revision) is { } badRevision)
            throw Refused($"has a revision that is neither a ref name nor a commit hash: {badRevision}");

        string cache = RealPaths.Resolve(Path.GetFullPath(cacheRoot));
        string[] inCache = [cache];
        string repoName = $"models--{org}--{name}", repo = Path.Combine(cacheRoot, repoName);
        string hint = $"nothing is downloaded; where there is network, `huggingface-cli download {org}/{name}` fills the cache";
        DirectoryNotFoundException Outside(string relative) =>
            Refused($"leads outside the Hugging Face cache ({cacheRoot}): {Path.Combine(repoName, relative)} is a link out of it; links in the cache must stay inside it");
        if (!RealPaths.IsInside(RealPaths.Resolve(Path.GetFullPath(repo)), cache))
            throw Outside("");
        if (!Directory.Exists(repo))
            throw Refused($"is not a folder, and the Hugging Face cache has no copy of it (looked for {repo}); {hint}");

        string commit;
        string refPath = Path.Combine("refs", revision), refFile = Path.Combine(repo, refPath);
        var refInfo = new FileInfo(refFile);
        if (refInfo.Exists || refInfo.LinkTarget is not null)
        {
            string real = RealPaths.Resolve(refFile);
            if (!RealPaths.IsInside(real, cache))
                throw Outside(refPath);
            commit = ReadCommit(real) ?? throw Refused($"cannot be resolved: {Path.Combine(repoName, refPath)} does not hold a commit hash (40 hex digits); {hint}");
        }
        else if (CommitHash().IsMatch(revision))
        {
            commit = revision;
        }
        else
        {
            throw Refused($"cannot be resolved: revision '{revision}' is neither a ref in {Path.Combine(repo, "refs")} nor a commit in {Path.Combine(repo, "snapshots")}; {hint}");
        }

        string snapshotPath = Path.Combine("snapshots", commit), snapshot = Path.Combine(repo, snapshotPath);
        if (!RealPaths.IsInside(RealPaths.Resolve(snapshot), cache))
            throw Outside(snapshotPath);
        if (!Directory.Exists(snapshot))
            throw Refused($"cannot be resolved: revision '{revision}' names commit {commit}, but {snapshot} is missing; {hint}");
        if (RealPaths.FirstEscape(snapshot, inCache) is { } escape)
            throw Outside(Path.Combine(snapshotPath, escape));
        return snapshot;
    }

    /// <summary>The hub cache folder, as huggingface_hub chooses it.</summary>
    public static string Root()
    {
        if (Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } hubCache)
            return hubCache;
        if (Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home)
            return Path.Combine(home, "hub");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub");
    }

    // The commit a ref file names, or null when it holds anything else (its content is never shown: it may not be a ref).
    private static string? ReadCommit(string refFile)
    {
        if (!File.Exists(refFile))
            return null;
        Span<byte> head = stackalloc byte[64];
        int read;
        using (FileStream stream = File.OpenRead(refFile))
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        string text = Encoding.ASCII.GetString(head[..read]).Trim();
        return CommitHash().IsMatch(text) ? text : null;
    }

    private static string? InvalidRepoPart(string part) =>
        part.Contains("--", StringComparison.Ordinal) || part.Contains("..", StringComparison.Ordinal) ? $"'--' and '..' are not allowed in '{part}'"
        : RepoPart().IsMatch(part) ? null
        : $"'{part}' must be 1-96 letters, digits, '-', '_' or '.', and may not start or end with '-' or '.'";

    /// <summary>Why <paramref name="revision"/> is not a ref name by git's rules (git check-ref-format), or null when it is one.</summary>
    internal static string? InvalidRevision(string revision)
    {
        if (revision.Length is 0 or > 255)
            return "it must have 1-255 characters";
        if (revision.Any(c => c < 0x20 || c == 0x7f || c == ' ' || "~^:?*[\\".Contains(c)))
            return "it may not hold spaces, control characters or any of ~ ^ : ? * [ \\";
        if (revision.StartsWith('/') || revision.EndsWith('/') || revision.Contains("//", StringComparison.Ordinal))
            return "it may not start or end with '/' or hold '//'";
        if (revision.Contains("..", StringComparison.Ordinal) || revision.Contains("@{", StringComparison.Ordinal) || revision == "@" || revision.EndsWith('.'))
            return "it may not hold '..' or '@{', be '@', or end with '.'";
        if (revision.Split('/').Any(part => part.StartsWith('.') || part.EndsWith(".lock", StringComparison.Ordinal)))
            return "no part of it may start with '.' or end with '.lock'";
        return null;
    }
}
