namespace FlatLora.Trainer.Tasks;

/// <summary>Where derived artefacts (the pretrained built-in base model) are kept between runs.</summary>
public static class CacheDirectory
{
    public const string Variable = "FLATLORA_CACHE";

    /// <summary>$FLATLORA_CACHE, else $XDG_CACHE_HOME/flatlora, else ~/.cache/flatlora.</summary>
    public static string Path
    {
        get
        {
            string? explicitDir = Environment.GetEnvironmentVariable(Variable);
            if (!string.IsNullOrWhiteSpace(explicitDir))
                return explicitDir;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrWhiteSpace(xdg)
                ? xdg
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return System.IO.Path.Combine(root, "flatlora");
        }
    }
}
