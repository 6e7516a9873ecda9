using System.Globalization;
using System.Net;
using System.Text;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// The flatness report as one self-contained HTML page (no scripts, no downloads): a table per σ with the models side
/// by side, paired differences, sharpness against σ and the loss curves as inline SVG on shared axes, and the Hessian.
/// </summary>
public static class FlatnessHtml
{
    private static readonly string[] Colours = ["#3b6fb6", "#d9822b", "#2e9b5d", "#b33f62", "#7a5cb8", "#6b6b6b"];

    public static string Render(FlatnessReport report)
    {
        FlatnessSettings s = report.Settings;
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Flatness report</title><style>")
            .Append("body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}")
            .Append(".small{color:#666;font-size:12px}svg{margin:.5em 1em .5em 0}.key{padding:1px 6px;border-radius:3px;color:#fff}</style></head><body>");
        html.Append("<h1>Flatness of the merged weights</h1><p class=\"small\">")
            .Append(E(Inv($"model {report.Model}, data {report.Data}, {report.Examples} examples, seed {s.Seed}, created {report.CreatedUtc:u}. ")))
            .Append(E("Expected sharpness is E[L(W' + ε)] − L(W') for W' = W + s·BA, with Flat-LoRA's filter-wise noise ε_ij ~ N(0, σ²‖W'_i‖²/n_in) on every LoRA-adapted layer "))
            .Append(E(Inv($"(embeddings, norms and lm_head untouched), estimated from {s.Samples} seeded samples per σ with a 95 % Student-t interval. ")))
            .Append(E("Every model sees the same noise samples, so differences between models are paired. "))
            .Append(E(Inv($"Curves: L(W' + α·d) along {s.Directions} random directions d whose rows have the norms of W'’s rows (filter normalisation, Li et al. 2018).")))
            .Append("</p><p>");
        for (int m = 0; m < report.Models.Count; m++)
            html.Append(Inv($"<span class=\"key\" style=\"background:{Colour(m)}\">{E(report.Models[m].Label)}</span> "));
        html.Append("</p>");
        SharpnessTables(html, report);
        Comparisons(html, report);
        html.Append("<h2>Plots</h2><div>");
        SharpnessPlot(html, report);
        CurvePlots(html, report);
        html.Append("</div>");
        Hessian(html, report);
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void SharpnessTables(StringBuilder html, FlatnessReport report)
    {
        html.Append("<h2>Expected sharpness</h2>");
        foreach (double sigma in report.Settings.Sigmas)
        {
            html.Append(Inv($"<table><caption>σ = {sigma}</caption><tr><th class=\"l\">model</th><th>L(W')</th><th>sharpness</th><th>95 % CI</th><th>std over samples</th><th>relative to L(W')</th></tr>"));
            foreach (ModelFlatness model in report.Models)
            {
                SharpnessEstimate? e = model.Sharpness.FirstOrDefault(x => x.Sigma == sigma);
                if (e is null)
                    continue;
                html.Append(Inv($"<tr><td class=\"l\">{E(model.Label)}</td><td>{model.Loss:F4}</td><td>{G(e.Mean)}</td><td>[{G(e.Low)}, {G(e.High)}]</td>"))
                    .Append(Inv($"<td>{G(e.StandardDeviation)}</td><td>{(model.Loss > 0 ? (e.Mean / model.Loss).ToString("P2", CultureInfo.InvariantCulture) : "–")}</td></tr>"));
            }
            html.Append("</table>");
        }
    }

    private static void Comparisons(StringBuilder html, FlatnessReport report)
    {
        if (report.Comparisons.Count == 0)
            return;
        html.Append("<h2>Paired differences</h2><table><tr><th>σ</th><th class=\"l\">A − B</th><th>mean difference</th><th>95 % CI</th><th class=\"l\">reading</th></tr>");
        foreach (FlatnessComparison c in report.Comparisons)
        {
            string reading = !c.Significant ? "no difference at p < 0.05"
                : c.MeanDifference < 0 ? $"{c.A} is flatter (p < 0.05)" : $"{c.B} is flatter (p < 0.05)";
            html.Append(Inv($"<tr><td>{c.Sigma}</td><td class=\"l\">{E(c.A)} − {E(c.B)}</td><td>{G(c.MeanDifference)}</td><td>[{G(c.Low)}, {G(c.High)}]</td><td class=\"l\">{E(reading)}</td></tr>"));
        }
        html.Append("</table><p class=\"small\">Over the noise samples for these trained weights; whether it holds across training seeds is what a sweep's Welch test on sharpness@σ answers. ")
            .Append("Sharpness describes a minimum: a model whose loss is far from minimal here (an untrained base) can lose loss under noise, so its sharpness can be negative.</p>");
    }

    private static void SharpnessPlot(StringBuilder html, FlatnessReport report)
    {
        var sigmas = report.Settings.Sigmas.Order().ToList();
        var plot = new SvgLinePlot
        {
            Title = "Expected sharpness against σ",
            XLabel = "σ",
            YLabel = "E[L(W'+ε)] − L(W')",
            XRange = (0, sigmas.Max() > 0 ? sigmas.Max() : 1),
            YRange = SvgLinePlot.RangeOf(report.Models.SelectMany(m => m.Sharpness).SelectMany(e => new[] { e.Low, e.High, e.Mean }).Append(0)),
        };
        html.Append(plot.Render(report.Models.Select((m, i) =>
        {
            var estimates = sigmas.Select(sigma => m.Sharpness.First(e => e.Sigma == sigma)).ToList();
            return new SvgLinePlot.Series(m.Label, Colour(i), sigmas, estimates.Select(e => e.Mean).ToList(), estimates.Select(e => (e.Low, e.High)).ToList());
        })));
    }

    private static void CurvePlots(StringBuilder html, FlatnessReport report)
    {
        if (report.Settings.Directions == 0)
            return;
        // One y-axis for every direction and model, so the plots compare at a glance.
        (double, double) yRange = SvgLinePlot.RangeOf(report.Models.SelectMany(m => m.Curves).SelectMany(c => c.Losses));
        double alpha = report.Settings.AlphaMax;
        for (int k = 0; k < report.Settings.Directions; k++)
        {
            var plot = new SvgLinePlot
            {
                Title = Inv($"Loss along direction {k + 1}"),
                XLabel = "α",
                YLabel = "loss",
                XRange = (-alpha, alpha),
                YRange = yRange,
            };
            html.Append(plot.Render(report.Models.Select((m, i) => new SvgLinePlot.Series(m.Label, Colour(i), m.Curves[k].Alphas, m.Curves[k].Losses))));
        }
    }

    private static void Hessian(StringBuilder html, FlatnessReport report)
    {
        html.Append("<h2>Top Hessian eigenvalue</h2><table><tr><th class=\"l\">model</th><th>λ_max of ∇²L in the LoRA layers' weights</th><th>power iterations</th></tr>");
        foreach (ModelFlatness model in report.Models)
        {
            string value = model.Hessian.TopEigenvalue is double l ? G(l) : "not computed: " + model.Hessian.NotComputed;
            html.Append(Inv($"<tr><td class=\"l\">{E(model.Label)}</td><td>{E(value)}</td><td>{model.Hessian.Iterations}</td></tr>"));
        }
        html.Append("</table>");
    }

    private static string Colour(int index) => Colours[index % Colours.Length];

    private static string G(double v) => double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "–";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
