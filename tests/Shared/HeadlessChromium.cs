using System.Text.Json;
using System.Text.RegularExpressions;

namespace FlatLora.Tests.Shared;

/// <summary>
/// Lays out an HTML report in headless Chromium (the Debian package, which .ci/run installs) and measures every
/// SVG polyline as the browser drew it: the reports have no scripts, so a measuring script is added to a copy.
/// </summary>
public static partial class HeadlessChromium
{
    /// <summary>One drawn polyline: its class attribute, its bounding box and its path length, in CSS pixels.</summary>
    public sealed record DrawnLine(string Class, double Width, double Height, double Length);

    private const string Measure = """
        <script>
        const lines = [...document.querySelectorAll('svg polyline')].map(p => {
          const b = p.getBBox();
          return { c: p.getAttribute('class') || '', w: b.width, h: b.height, l: p.getTotalLength() };
        });
        document.body.setAttribute('data-measured', btoa(JSON.stringify({ svgs: document.querySelectorAll('svg').length, lines })));
        </script>
        """;

    /// <summary>The SVG count and every polyline of <paramref name="htmlFile"/> as rendered.</summary>
    public static (int Svgs, IReadOnlyList<DrawnLine> Lines) MeasurePlots(string htmlFile)
    {
        string copy = Path.Combine(Path.GetDirectoryName(htmlFile)!, "measured-" + Path.GetFileName(htmlFile));
        string html = File.ReadAllText(htmlFile);
        File.WriteAllText(copy, html.Replace("</body>", Measure + "</body>", StringComparison.Ordinal));
        string output = ExternalTool.RunChecked("chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", new Uri(copy).AbsoluteUri],
            timeout: TimeSpan.FromMinutes(1));
        Match match = MeasuredAttribute().Match(output);
        if (!match.Success)
            throw new InvalidOperationException($"Chromium did not run the measuring script on {copy}:\n{output[..Math.Min(2000, output.Length)]}");
        using JsonDocument json = JsonDocument.Parse(Convert.FromBase64String(match.Groups[1].Value));
        var lines = json.RootElement.GetProperty("lines").EnumerateArray()
            .Select(l => new DrawnLine(l.GetProperty("c").GetString()!, l.GetProperty("w").GetDouble(), l.GetProperty("h").GetDouble(), l.GetProperty("l").GetDouble()))
            .ToList();
        return (json.RootElement.GetProperty("svgs").GetInt32(), lines);
    }

    [GeneratedRegex("data-measured=\"([A-Za-z0-9+/=]+)\"")]
    private static partial Regex MeasuredAttribute();
}
