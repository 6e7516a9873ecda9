using System.Globalization;
using System.Net;
using System.Text;

namespace FlatLora.Trainer.Robustness.Evaluation;

/// <summary>
/// A self-contained HTML report (no scripts, no downloads): the per-perturbation table with every model side by
/// side, drift histograms per perturbation as inline SVG, and per-example views with drifted segments shaded by
/// their drift and critical changes marked.
/// </summary>
public static class RobustnessHtml
{
    private static readonly string[] Colours = ["#3b6fb6", "#d9822b", "#2e9b5d", "#b33f62", "#7a5cb8", "#6b6b6b"];
    private const int Bins = 20;
    private const int ExamplesShown = 40;

    public static string Render(RobustnessReport report)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>S2R2 robustness report</title><style>")
            .Append("body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}")
            .Append(".seg{padding:1px 2px;border-radius:3px}.crit{outline:2px solid #c00}.ex{border-top:1px solid #ddd;margin-top:1em;padding-top:.5em}")
            .Append(".small{color:#666;font-size:12px}svg{margin:.5em 1em .5em 0}</style></head><body>");
        html.Append("<h1>Segment-level robustness (S2R2)</h1><p class=\"small\">")
            .Append(E($"model {report.Model}, data {report.Data}, {report.Models[0].Examples.Count} examples, created {report.CreatedUtc:u}. "))
            .Append(E($"Segments aligned by entropic optimal transport (Sinkhorn, ε = {report.Settings.Epsilon}, cost 1 − cosine, {report.Settings.Mass} masses); "))
            .Append(E($"drift is a segment's transport cost per unit mass (0 unchanged, 2 opposite); high drift means above {report.Settings.HighDrift}. "))
            .Append(E($"\"Hidden\" counts answers whose whole-answer similarity is at least {report.Settings.SimilarSequence} yet have a high-drift segment."))
            .Append("</p>");
        Legend(html, report);
        SummaryTable(html, report);
        Histograms(html, report);
        foreach (ModelRobustness model in report.Models)
            Examples(html, model, report.Settings);
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void Legend(StringBuilder html, RobustnessReport report)
    {
        html.Append("<p>");
        for (int m = 0; m < report.Models.Count; m++)
            html.Append(CultureInfo.InvariantCulture, $"<span class=\"seg\" style=\"background:{Colours[m % Colours.Length]};color:#fff\">{E(report.Models[m].Label)}</span> ");
        html.Append("</p>");
    }

    private static void SummaryTable(StringBuilder html, RobustnessReport report)
    {
        html.Append("<h2>Per perturbation</h2><table><tr><th class=\"l\">perturbation</th><th class=\"l\">model</th><th>mean drift</th><th>p95</th><th>max</th>")
            .Append("<th>high-drift share</th><th>sequence similarity</th><th>hidden drift</th><th>critical changes</th><th>PDR (ROUGE-L)</th></tr>");
        foreach (string perturbation in report.Models[0].Summary.Select(s => s.Perturbation))
        {
            foreach (ModelRobustness model in report.Models)
            {
                PerturbationSummary s = model.Summary.First(x => x.Perturbation == perturbation);
                html.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"l\">{E(s.Perturbation)}</td><td class=\"l\">{E(model.Label)}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{s.MeanDrift:F3}</td><td>{s.P95Drift:F3}</td><td>{s.MaxDrift:F3}</td><td>{s.HighDriftShare:P1}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{s.MeanSequenceSimilarity:F3}</td><td>{s.HiddenDriftExamples}/{s.Examples}</td><td>{s.CriticalChanges}</td>")
                    .Append(CultureInfo.InvariantCulture, $"<td>{(s.PerformanceDropRate is double pdr ? pdr.ToString("P1", CultureInfo.InvariantCulture) : "–")}</td></tr>");
            }
        }
        html.Append("</table>");
    }

    /// <summary>One SVG per perturbation: the share of segments per drift bin, one bar per model in each bin.</summary>
    private static void Histograms(StringBuilder html, RobustnessReport report)
    {
        html.Append("<h2>Drift distributions</h2>");
        double top = Math.Max(report.Settings.HighDrift * 2, report.Models.SelectMany(m => m.Summary).Select(s => s.MaxDrift).DefaultIfEmpty(1).Max());
        const int width = 360, height = 160, left = 30, bottom = 20;
        foreach (PerturbationSummary first in report.Models[0].Summary)
        {
            var shares = report.Models.Select(m =>
            {
                int index = m.Summary.ToList().FindIndex(s => s.Perturbation == first.Perturbation);
                double[] drifts = m.Examples.SelectMany(e => e.Perturbed[index].Drift.Select(d => d.Drift)).ToArray();
                double[] counts = new double[Bins];
                foreach (double d in drifts)
                    counts[Math.Min(Bins - 1, (int)(d / top * Bins))]++;
                return counts.Select(c => drifts.Length == 0 ? 0 : c / drifts.Length).ToArray();
            }).ToList();
            double maxShare = Math.Max(1e-9, shares.SelectMany(s => s).Max());
            html.Append(CultureInfo.InvariantCulture, $"<svg width=\"{width}\" height=\"{height + 24}\" role=\"img\" aria-label=\"{E(first.Perturbation)}\">")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"14\" font-size=\"13\">{E(first.Perturbation)}</text>");
            double binWidth = (width - left - 10.0) / Bins, barWidth = binWidth / shares.Count;
            for (int m = 0; m < shares.Count; m++)
            {
                for (int b = 0; b < Bins; b++)
                {
                    double h = shares[m][b] / maxShare * (height - bottom - 10);
                    double x = left + b * binWidth + m * barWidth;
                    html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:F1}\" y=\"{height - bottom - h + 10:F1}\" width=\"{barWidth:F1}\" height=\"{h:F1}\" fill=\"{Colours[m % Colours.Length]}\"/>");
                }
            }
            double threshold = left + report.Settings.HighDrift / top * (width - left - 10);
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{threshold:F1}\" x2=\"{threshold:F1}\" y1=\"20\" y2=\"{height - bottom + 10}\" stroke=\"#c00\" stroke-dasharray=\"3,3\"/>")
                .Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{height - bottom + 10}\" y2=\"{height - bottom + 10}\" stroke=\"#555\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height + 20}\" font-size=\"11\">0</text><text x=\"{width - 40}\" y=\"{height + 20}\" font-size=\"11\">{top:F2}</text>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2 - 40}\" y=\"{height + 20}\" font-size=\"11\">segment drift</text></svg>");
        }
    }

    private static void Examples(StringBuilder html, ModelRobustness model, GenerationDriftSettings settings)
    {
        html.Append(CultureInfo.InvariantCulture, $"<h2>Examples: {E(model.Label)}</h2>");
        foreach (ExampleRobustness example in model.Examples.Take(ExamplesShown))
        {
            html.Append(CultureInfo.InvariantCulture, $"<div class=\"ex\"><div class=\"small\">#{example.Index} {E(example.Source)}</div>")
                .Append(CultureInfo.InvariantCulture, $"<div><b>prompt</b> {E(example.Prompt)}</div><div><b>clean answer</b> {E(example.Clean)}</div>");
            if (example.Reference is not null)
                html.Append(CultureInfo.InvariantCulture, $"<div class=\"small\">reference: {E(example.Reference)}</div>");
            foreach (PerturbedGeneration perturbed in example.Perturbed)
            {
                html.Append(CultureInfo.InvariantCulture, $"<div><b>{E(perturbed.Perturbation)}</b> <span class=\"small\">{E(perturbed.Prompt)}</span><br>");
                foreach (SegmentDriftResult segment in perturbed.Drift)
                {
                    double alpha = Math.Clamp(segment.Drift / (2 * settings.HighDrift), 0, 1);
                    string title = $"drift {segment.Drift:F3}" + (segment.CriticalChange
                        ? $"; changed: {string.Join(", ", segment.ChangedNumbers.Concat(segment.ChangedEntities))}" : "");
                    html.Append(CultureInfo.InvariantCulture,
                        $"<span class=\"seg{(segment.CriticalChange ? " crit" : "")}\" style=\"background:rgba(220,40,40,{alpha:F2})\" title=\"{E(title)}\">{E(segment.Text)}</span> ");
                }
                html.Append(CultureInfo.InvariantCulture, $"<br><span class=\"small\">perturbed answer: {E(perturbed.Text)} · sequence similarity {perturbed.SequenceSimilarity:F3}</span></div>");
            }
            html.Append("</div>");
        }
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
