using System.Text.RegularExpressions;

namespace FlatLora.Spec;

/// <summary>
/// Model ids (<c>meta-llama/Llama-2-7b-hf</c>, optionally <c>@revision</c>) resolved offline to a snapshot folder of the
/// local Hugging Face cache: <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>; the
/// revision (default <c>main</c>) is a ref under <c>refs/</c> or a commit under <c>snapshots/</c>. Nothing is ever
/// downloaded. A folder that exists is always taken as it is.
/// </summary>
public static partial class HubCache
{
    [GeneratedRegex(@"^(?<org>[A-Za-z0-9][\w.-]*)/(?<name>[\w.-]+)(@(?<rev>[\w./-]+))?$")]
    private static partial Regex ModelId();

    /// <summary>Whether <paramref name="value"/> reads as a hub id rather than a path (and is not an existing folder).</summary>
    public static bool LooksLikeId(string value) => !Directory.Exists(value) && !value.StartsWith('.') && !value.StartsWith('/') && ModelId().IsMatch(value);

    /// <summary>
    /// The folder <paramref name="pathOrId"/> names: itself when it exists, else the cached snapshot of the hub id.
    /// Fails naming where it looked; returns a path that does not exist only for a value that is not a hub id.
    /// </summary>
    public static string Resolve(string pathOrId, string field = "model.path")
    {
        if (Directory.Exists(pathOrId) || !LooksLikeId(pathOrId))
            return pathOrId;
        Match id = ModelId().Match(pathOrId);
        string org = id.Groups["org"].Value, name = id.Groups["name"].Value;
        string revision = id.Groups["rev"].Success ? id.Groups["rev"].Value : "main";
        string cache = Root();
        string repo = Path.Combine(cache, $"models--{org}--{name}");
        string hint = $"nothing is downloaded; where there is network, `huggingface-cli download {org}/{name}` fills the cache";
        if (!Directory.Exists(repo))
            throw new DirectoryNotFoundException($"{field}: '{pathOrId}' is not a folder, and the Hugging Face cache has no copy of it (looked for {repo}); {hint}");
        string refFile = Path.Combine(repo, "refs", revision);
        string commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : revision;
        string snapshot = Path.Combine(repo, "snapshots", commit);
        if (!Directory.Exists(snapshot))
            throw new DirectoryNotFoundException(File.Exists(refFile)
                ? $"{field}: '{pathOrId}': {refFile} names commit {commit}, but {snapshot} is missing; {hint}"
                : $"{field}: '{pathOrId}': revision '{revision}' is neither a ref in {Path.Combine(repo, "refs")} nor a snapshot in {Path.Combine(repo, "snapshots")}; {hint}");
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
}
