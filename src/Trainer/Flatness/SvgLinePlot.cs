using System.Globalization;
using System.Net;
using System.Text;

namespace FlatLora.Trainer.Flatness;

/// <summary>
/// A self-contained SVG line chart: axes with ticks, one polyline per series, optional vertical error bars. Axes
/// are shared by the caller passing the same ranges to several plots.
/// </summary>
internal sealed class SvgLinePlot
{
    public sealed record Series(string Label, string Colour, IReadOnlyList<double> X, IReadOnlyList<double> Y,
        IReadOnlyList<(double Low, double High)>? ErrorBars = null);

    private const int Width = 420, Height = 260, Left = 62, Right = 12, Top = 26, Bottom = 42;

    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public required string YLabel { get; init; }
    public required (double Min, double Max) XRange { get; init; }
    public required (double Min, double Max) YRange { get; init; }

    public string Render(IEnumerable<Series> series)
    {
        var svg = new StringBuilder();
        svg.Append(Inv($"<svg class=\"plot\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{E(Title)}\">"))
            .Append(Inv($"<text x=\"{Left}\" y=\"16\" font-size=\"13\">{E(Title)}</text>"));
        Axes(svg);
        foreach (Series s in series)
        {
            var points = s.X.Zip(s.Y).Where(p => double.IsFinite(p.Second)).Select(p => Inv($"{Px(p.First):F1},{Py(p.Second):F1}"));
            svg.Append(Inv($"<polyline class=\"series\" data-label=\"{E(s.Label)}\" fill=\"none\" stroke=\"{s.Colour}\" stroke-width=\"2\" points=\"{string.Join(' ', points)}\"/>"));
            if (s.ErrorBars is { } bars)
            {
                for (int i = 0; i < bars.Count && i < s.X.Count; i++)
                {
                    if (double.IsFinite(bars[i].Low) && double.IsFinite(bars[i].High))
                        svg.Append(Inv($"<line stroke=\"{s.Colour}\" x1=\"{Px(s.X[i]):F1}\" x2=\"{Px(s.X[i]):F1}\" y1=\"{Py(bars[i].Low):F1}\" y2=\"{Py(bars[i].High):F1}\"/>"));
                }
            }
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    private void Axes(StringBuilder svg)
    {
        int x0 = Left, x1 = Width - Right, y0 = Height - Bottom, y1 = Top;
        svg.Append(Inv($"<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#555\"/><line x1=\"{x0}\" x2=\"{x0}\" y1=\"{y0}\" y2=\"{y1}\" stroke=\"#555\"/>"));
        for (int i = 0; i <= 4; i++)
        {
            double xv = XRange.Min + (XRange.Max - XRange.Min) * i / 4, yv = YRange.Min + (YRange.Max - YRange.Min) * i / 4;
            svg.Append(Inv($"<text x=\"{Px(xv):F1}\" y=\"{y0 + 14}\" font-size=\"10\" text-anchor=\"middle\">{Tick(xv)}</text>"))
                .Append(Inv($"<text x=\"{x0 - 4}\" y=\"{Py(yv) + 3:F1}\" font-size=\"10\" text-anchor=\"end\">{Tick(yv)}</text>"))
                .Append(Inv($"<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{Py(yv):F1}\" y2=\"{Py(yv):F1}\" stroke=\"#eee\"/>"));
        }
        svg.Append(Inv($"<text x=\"{(x0 + x1) / 2}\" y=\"{Height - 8}\" font-size=\"11\" text-anchor=\"middle\">{E(XLabel)}</text>"))
            .Append(Inv($"<text x=\"12\" y=\"{(y0 + y1) / 2}\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 {(y0 + y1) / 2})\">{E(YLabel)}</text>"));
    }

    private double Px(double x) => Left + (x - XRange.Min) / Span(XRange) * (Width - Left - Right);

    private double Py(double y) => Height - Bottom - (y - YRange.Min) / Span(YRange) * (Height - Bottom - Top);

    private static double Span((double Min, double Max) range) => range.Max > range.Min ? range.Max - range.Min : 1;

    /// <summary>A range that holds every finite value, padded by 5 % (a flat range gets ±1 % of its value).</summary>
    public static (double Min, double Max) RangeOf(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0)
            return (0, 1);
        double min = finite.Min(), max = finite.Max();
        double pad = max > min ? (max - min) * 0.05 : Math.Max(Math.Abs(max) * 0.01, 1e-6);
        return (min - pad, max + pad);
    }

    private static string Tick(double v) => v.ToString(Math.Abs(v) is >= 1e-3 and < 1e4 or 0 ? "0.###" : "0.##E+0", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
