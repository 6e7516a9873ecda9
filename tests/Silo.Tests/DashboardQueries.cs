using FlatLora.Tests.Shared;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FlatLora.Silo.Tests;

/// <summary>Every PromQL query of the Grafana dashboards under deploy/helm/dashboards: panel targets and variables.</summary>
internal static partial class DashboardQueries
{
    public sealed record Query(string Dashboard, string Where, string Expression);

    public static string Directory => Path.Combine(RepositoryPaths.Root, "deploy", "helm", "dashboards");

    public static IReadOnlyList<string> Files() =>
        System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal).ToList();

    /// <summary>Panel targets, rows' nested panels included.</summary>
    public static IEnumerable<Query> PanelTargets(string file)
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(file));
        string title = dashboard.RootElement.GetProperty("title").GetString()!;
        var queries = new List<Query>();
        foreach (JsonElement panel in AllPanels(dashboard.RootElement))
        {
            if (!panel.TryGetProperty("targets", out JsonElement targets))
                continue;
            string panelTitle = panel.GetProperty("title").GetString()!;
            foreach (JsonElement target in targets.EnumerateArray())
                queries.Add(new Query(title, $"panel '{panelTitle}' target {target.GetProperty("refId").GetString()}", target.GetProperty("expr").GetString()!));
        }
        return queries;
    }

    /// <summary>label_values(selector, label) variables: the selector and the label they read.</summary>
    public static IEnumerable<(Query Selector, string Label)> LabelValueVariables(string file)
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(file));
        string title = dashboard.RootElement.GetProperty("title").GetString()!;
        var variables = new List<(Query, string)>();
        foreach (JsonElement variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query")
                continue;
            string definition = variable.GetProperty("query").GetProperty("query").GetString()!;
            Match match = LabelValues().Match(definition);
            if (!match.Success)
                throw new InvalidDataException($"{title}: variable {variable.GetProperty("name")} is not label_values(selector, label): {definition}");
            variables.Add((new Query(title, $"variable ${variable.GetProperty("name").GetString()}", match.Groups["selector"].Value), match.Groups["label"].Value));
        }
        return variables;
    }

    /// <summary>The variables a dashboard defines (Grafana's built-in $__ ones are not listed).</summary>
    public static IReadOnlySet<string> DefinedVariables(string file)
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(file));
        return dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Select(v => v.GetProperty("name").GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    public static IEnumerable<string> UsedVariables(string expression) =>
        Variable().Matches(expression).Select(m => m.Groups["name"].Value).Where(n => !n.StartsWith("__", StringComparison.Ordinal)).Distinct();

    /// <summary>
    /// The query as Grafana would send it with every option selected ("All" is ".*") and the given windows; throws
    /// if a variable is left that neither the dashboard nor Grafana defines.
    /// </summary>
    public static string Substitute(string expression, string rateInterval, string range)
    {
        string result = expression
            .Replace("$__rate_interval", rateInterval, StringComparison.Ordinal)
            .Replace("$__range", range, StringComparison.Ordinal)
            .Replace("$job", "flatlora", StringComparison.Ordinal)
            .Replace("$experiment", ".*", StringComparison.Ordinal)
            .Replace("$seed", ".*", StringComparison.Ordinal);
        return result.Contains('$', StringComparison.Ordinal)
            ? throw new InvalidDataException($"unknown variable left in: {result}")
            : result;
    }

    private static IEnumerable<JsonElement> AllPanels(JsonElement dashboard)
    {
        foreach (JsonElement panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out JsonElement nested))
            {
                foreach (JsonElement inner in nested.EnumerateArray())
                    yield return inner;
            }
        }
    }

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>\w+)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\$(?<name>\w+)")]
    private static partial Regex Variable();
}
