namespace FlatLora.Spec;

/// <summary>
/// Where a cluster lets a submitted spec reach: it writes only under <see cref="OutputRoot"/>, reads data under
/// <see cref="DataRoot"/> or the output root, and models there or in the Hugging Face cache <see cref="HubCacheRoot"/>
/// (read-only, like the data root). Every path a spec names is resolved inside them, with <c>..</c> and symbolic
/// links followed first, so neither an absolute path, an escape nor a link pointing out of a root gets through; a
/// model folder's files must stay inside too. A spec from the wire is confined at the cluster's edge, before it is
/// stored or run.
/// </summary>
/// <param name="HubCacheRoot">The silo's Hugging Face cache; null: <see cref="HubCache.Root"/> of this process.</param>
public sealed record ClusterPaths(string OutputRoot, string? DataRoot = null, string? HubCacheRoot = null)
{
    /// <summary>
    /// The spec with <c>output_dir</c>, <c>data.train</c>, <c>data.eval</c> and <c>model.path</c> made absolute inside the
    /// roots (relative paths are taken from the output root, data from the data root when there is one; a hub id becomes
    /// its snapshot folder in the cache, so every rank loads the same commit); throws a <see cref="SpecException"/>
    /// naming every field that escapes. Whether a file outside exists never changes the answer.
    /// </summary>
    public TrainSpec Confine(TrainSpec spec)
    {
        var errors = new List<SpecError>();
        string outputRoot = RealPaths.Resolve(Path.GetFullPath(OutputRoot));
        string? dataRoot = DataRoot is null ? null : RealPaths.Resolve(Path.GetFullPath(DataRoot));
        string hubRoot = HubCacheRoot ?? HubCache.Root();
        string[] readRoots = dataRoot is null ? [outputRoot] : [dataRoot, outputRoot];
        string readWhat = DataRoot is null ? "output root" : "data roots";

        string? Inside(string? value, string field, string baseRoot, string[] roots, string what)
        {
            if (value is null)
                return null;
            string full = Path.GetFullPath(Path.IsPathRooted(value) ? value : Path.Combine(baseRoot, value));
            if (RealPaths.IsInsideAny(RealPaths.Resolve(full), roots))
                return full;
            errors.Add(new SpecError(field, $"{value} is outside the cluster's {what} ({string.Join(" or ", roots)}); give a path inside it"));
            return value;
        }

        string outputDir = Inside(spec.OutputDir, "output_dir", outputRoot, [outputRoot], "output root")!;
        string dataBase = dataRoot ?? outputRoot;
        DataSpec data = spec.Data with
        {
            Train = Inside(spec.Data.Train, "data.train", dataBase, readRoots, readWhat),
            Eval = Inside(spec.Data.Eval, "data.eval", dataBase, readRoots, readWhat),
        };
        string? modelPath = spec.Model.Path is { } path ? ConfineModel(path, dataBase, readRoots, readWhat, hubRoot, errors, Inside) : null;
        SpecException.ThrowIfAny(errors);
        return spec with { OutputDir = outputDir, Data = data, Model = spec.Model with { Path = modelPath } };
    }

    // A hub id resolves in the cache (HubCache checks each link there); a folder must lie in a read root or the cache,
    // and so must every file it links to.
    private static string ConfineModel(string path, string dataBase, string[] readRoots, string readWhat, string hubRoot, List<SpecError> errors,
        Func<string?, string, string, string[], string, string?> inside)
    {
        const string field = "model.path";
        if (HubCache.LooksLikeId(path, dataBase))
        {
            try
            {
                return HubCache.ResolveId(path, field, hubRoot);
            }
            catch (DirectoryNotFoundException e)
            {
                errors.Add(new SpecError(field, e.Message[(field.Length + 2)..]));
                return path;
            }
        }
        string[] modelRoots = [.. readRoots, RealPaths.Resolve(Path.GetFullPath(hubRoot))];
        int before = errors.Count;
        string folder = inside(path, field, dataBase, modelRoots, $"{readWhat} or Hugging Face cache")!;
        if (errors.Count == before && RealPaths.FirstEscape(folder, modelRoots) is { } escape)
            errors.Add(new SpecError(field, $"{path}: {escape} is a link out of the cluster's {readWhat} and Hugging Face cache; a model's files must lie inside them"));
        return folder;
    }
}
