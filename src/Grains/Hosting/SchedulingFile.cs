using FlatLora.Abstractions.Scheduling;
using Microsoft.Extensions.Configuration;

namespace FlatLora.Grains.Hosting;

/// <summary>
/// The watched JSON file that holds the scheduling section (FlatLora:Silo:SchedulingFile; a ConfigMap in the Helm
/// chart). It is read on its own, over the rest of the configuration, so a file that does not parse is refused as a
/// whole instead of emptying the quotas the way a configuration reload would.
/// </summary>
public sealed class SchedulingFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>The settings with this file over <paramref name="configuration"/>; throws naming the file when it cannot be read.</summary>
    public SchedulingSettings Load(IConfiguration configuration)
    {
        IConfigurationRoot merged;
        try
        {
            merged = new ConfigurationBuilder().AddConfiguration(configuration).AddJsonFile(Path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or IOException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"{Path}: {(e.InnerException ?? e).Message.ReplaceLineEndings(" ")}", e);
        }
        var settings = new SchedulingSettings();
        merged.GetSection(SchedulingSettings.Section).Bind(settings);
        return settings;
    }
}
