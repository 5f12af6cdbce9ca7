using System.Globalization;
using System.Net;
using System.Text;

namespace ForgetGate.Lab.Reporting;

/// <summary>Small hand-written SVG figures; every number is written with the invariant culture.</summary>
internal static class Svg
{
    /// <summary>Okabe–Ito: distinguishable with the common colour-vision deficiencies.</summary>
    public static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

    public static string N(double v, int digits = 1) =>
        double.IsFinite(v) ? Math.Round(v, digits).ToString("0.####", CultureInfo.InvariantCulture) : "0";

    public static string F(double v, string format = "F3") =>
        double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    public static string E(string text) => WebUtility.HtmlEncode(text);

    public static StringBuilder Open(int width, int height, string title)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.Append("<title>").Append(E(title)).Append("</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>");
        return sb;
    }

    public static string Close(StringBuilder sb) => sb.Append("</svg>").ToString();

    public static void Text(StringBuilder sb, double x, double y, string text, string anchor = "start", string extra = "") =>
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(x)}\" y=\"{N(y)}\" text-anchor=\"{anchor}\" {extra}>{E(text)}</text>");

    /// <summary>Sequential colour from light yellow (low) to dark blue (high), t in [0, 1].</summary>
    public static string Heat(double t)
    {
        var (r, g, b) = HeatRgb(t);
        return string.Create(CultureInfo.InvariantCulture, $"#{r:X2}{g:X2}{b:X2}");
    }

    /// <summary>The colour of <see cref="Heat"/> as bytes (for PNG images).</summary>
    public static (byte R, byte G, byte B) HeatRgb(double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, 0, 1) : 0;
        (double r, double g, double b) lo = (255, 247, 188), mid = (65, 182, 196), hi = (8, 29, 88);
        var (a, z, u) = t < 0.5 ? (lo, mid, t * 2) : (mid, hi, (t - 0.5) * 2);
        return ((byte)(a.r + ((z.r - a.r) * u)), (byte)(a.g + ((z.g - a.g) * u)), (byte)(a.b + ((z.b - a.b) * u)));
    }

    /// <summary>Heatmap of a (T+1) × T matrix with annotated cells and a colour legend.</summary>
    public static string Heatmap(string title, double[,] m, double low, double high, string valueLabel, IReadOnlyList<string> tasks)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        int cell = 44, left = 96, top = 40;
        int width = left + (cols * cell) + 90, height = top + (rows * cell) + 50;
        var sb = Open(width, height, title);
        Text(sb, width / 2.0, 18, title, "middle", "font-weight=\"bold\"");
        for (int i = 0; i < rows; i++)
        {
            Text(sb, left - 6, top + (i * cell) + (cell / 2.0) + 4, i == 0 ? "untrained" : $"after {tasks[i - 1]}", "end");
            for (int j = 0; j < cols; j++)
            {
                double v = m[i, j];
                double t = (v - low) / Math.Max(high - low, 1e-12);
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left + (j * cell)}\" y=\"{top + (i * cell)}\" width=\"{cell - 1}\" height=\"{cell - 1}\" fill=\"{Heat(t)}\"><title>{E($"R[{i}][{j + 1}] = {F(v, "F4")}")}</title></rect>");
                Text(sb, left + (j * cell) + (cell / 2.0), top + (i * cell) + (cell / 2.0) + 4, F(v, "F2"), "middle", t > 0.55 ? "fill=\"#ffffff\"" : "fill=\"#000000\"");
            }
        }

        for (int j = 0; j < cols; j++)
        {
            Text(sb, left + (j * cell) + (cell / 2.0), top + (rows * cell) + 14, tasks[j], "middle");
        }

        Text(sb, left + (cols * cell / 2.0), top + (rows * cell) + 32, "evaluated task", "middle");
        int lx = left + (cols * cell) + 20;
        for (int k = 0; k < 10; k++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{lx}\" y=\"{top + (k * 12)}\" width=\"14\" height=\"12\" fill=\"{Heat(1 - (k / 9.0))}\"/>");
        }

        Text(sb, lx + 18, top + 9, F(high, "F2"));
        Text(sb, lx + 18, top + 117, F(low, "F2"));
        Text(sb, lx, top + 136, valueLabel);
        return Close(sb);
    }

    /// <summary>Lines with shaded bands: x = positions, one series per eval task (mean, min, max).</summary>
    public static string Curves(string title, IReadOnlyList<string> xLabels, IReadOnlyList<(string Name, double[] Mean, double[] Low, double[] High)> series, double yLow, double yHigh, string yLabel, IReadOnlyList<int> taskBoundaries)
    {
        int width = 460, height = 250, left = 48, right = 110, top = 30, bottom = 40;
        double pw = width - left - right, ph = height - top - bottom;
        var sb = Open(width, height, title);
        Text(sb, left + (pw / 2), 18, title, "middle", "font-weight=\"bold\"");
        double X(int i) => left + (xLabels.Count <= 1 ? 0 : pw * i / (xLabels.Count - 1));
        double Y(double v) => top + ph - (ph * (Math.Clamp(v, yLow, yHigh) - yLow) / Math.Max(yHigh - yLow, 1e-12));
        for (int k = 0; k <= 4; k++)
        {
            double v = yLow + ((yHigh - yLow) * k / 4);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{N(left + pw)}\" y1=\"{N(Y(v))}\" y2=\"{N(Y(v))}\" stroke=\"#e5e5e5\"/>");
            Text(sb, left - 4, Y(v) + 4, F(v, "F2"), "end");
        }

        foreach (int b in taskBoundaries)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{N(X(b))}\" x2=\"{N(X(b))}\" y1=\"{top}\" y2=\"{N(top + ph)}\" stroke=\"#bbbbbb\" stroke-dasharray=\"3,3\"/>");
            Text(sb, X(b), top + ph + 14, xLabels[b], "middle");
        }

        for (int s = 0; s < series.Count; s++)
        {
            var (name, mean, lo, hi) = series[s];
            string colour = Palette[s % Palette.Length];
            var band = new StringBuilder();
            for (int i = 0; i < hi.Length; i++)
            {
                band.Append(CultureInfo.InvariantCulture, $"{N(X(i))},{N(Y(hi[i]))} ");
            }

            for (int i = lo.Length - 1; i >= 0; i--)
            {
                band.Append(CultureInfo.InvariantCulture, $"{N(X(i))},{N(Y(lo[i]))} ");
            }

            sb.Append(CultureInfo.InvariantCulture, $"<polygon points=\"{band.ToString().Trim()}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>");
            var line = string.Join(" ", mean.Select((v, i) => $"{N(X(i))},{N(Y(v))}"));
            sb.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{line}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{width - right + 10}\" y=\"{top + (s * 16)}\" width=\"12\" height=\"3\" fill=\"{colour}\"/>");
            Text(sb, width - right + 26, top + (s * 16) + 5, name);
        }

        Text(sb, left + (pw / 2), height - 6, "training progress (task, epoch)", "middle");
        Text(sb, 12, top + (ph / 2), yLabel, "middle", $"transform=\"rotate(-90 12 {N(top + (ph / 2))})\"");
        return Close(sb);
    }

    /// <summary>Bars with 95% CI whiskers, one group per bar; the best bar is outlined.</summary>
    public static string Bars(string title, IReadOnlyList<(string Name, double Mean, double Half)> bars, string yLabel, int best)
    {
        // Labels wider than a bar's 56-pixel slot (about 6.2 px per character at font-size 11) would run into their
        // neighbours: then every label is turned 35° and hangs from its bar, with room made below and to the left.
        const double charWidth = 6.2, slant = 35 * Math.PI / 180;
        double longest = bars.Select(b => b.Name.Length * charWidth).DefaultIfEmpty(0).Max();
        bool turned = longest > 52;
        int below = turned ? (int)Math.Ceiling(longest * Math.Sin(slant)) + 20 : 0;
        int leftRoom = turned ? Math.Max(0, (int)Math.Ceiling((longest * Math.Cos(slant)) - 70)) : 0;
        int width = Math.Max(260, 70 + leftRoom + (bars.Count * 56)), height = 230 + below, left = 52 + leftRoom, top = 30, bottom = 44 + below;
        double ph = height - top - bottom;
        var values = bars.SelectMany(b => new[] { b.Mean - (double.IsFinite(b.Half) ? b.Half : 0), b.Mean + (double.IsFinite(b.Half) ? b.Half : 0), 0.0 }).Where(double.IsFinite).ToList();
        double lo = values.Count > 0 ? values.Min() : 0, hi = values.Count > 0 ? values.Max() : 1;
        if (hi - lo < 1e-9)
        {
            hi = lo + 1;
        }

        double pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
        double Y(double v) => top + ph - (ph * (v - lo) / (hi - lo));
        var sb = Open(width, height, title);
        Text(sb, width / 2.0, 18, title, "middle", "font-weight=\"bold\"");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{width - 10}\" y1=\"{N(Y(0))}\" y2=\"{N(Y(0))}\" stroke=\"#888888\"/>");
        Text(sb, left - 4, Y(hi - pad) + 4, F(hi - pad, "F3"), "end");
        Text(sb, left - 4, Y(lo + pad) + 4, F(lo + pad, "F3"), "end");
        for (int i = 0; i < bars.Count; i++)
        {
            var (name, mean, half) = bars[i];
            double x = left + 10 + (i * 56);
            double y0 = Y(0), y1 = Y(double.IsFinite(mean) ? mean : 0);
            string stroke = i == best ? " stroke=\"#000000\" stroke-width=\"2\"" : "";
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{N(Math.Min(y0, y1))}\" width=\"36\" height=\"{N(Math.Abs(y1 - y0))}\" fill=\"{Palette[i % Palette.Length]}\"{stroke}><title>{E($"{name}: {F(mean, "F4")} ± {F(half, "F4")}")}</title></rect>");
            if (double.IsFinite(half))
            {
                double a = Y(mean - half), b = Y(mean + half);
                sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{N(x + 18)}\" x2=\"{N(x + 18)}\" y1=\"{N(a)}\" y2=\"{N(b)}\" stroke=\"#000000\"/><line x1=\"{N(x + 12)}\" x2=\"{N(x + 24)}\" y1=\"{N(a)}\" y2=\"{N(a)}\" stroke=\"#000000\"/><line x1=\"{N(x + 12)}\" x2=\"{N(x + 24)}\" y1=\"{N(b)}\" y2=\"{N(b)}\" stroke=\"#000000\"/>");
            }

            if (turned)
            {
                double ly = height - bottom + 12;
                Text(sb, x + 22, ly, name, "end", string.Create(CultureInfo.InvariantCulture, $"transform=\"rotate(-35 {N(x + 22)} {N(ly)})\""));
            }
            else
            {
                Text(sb, x + 18, height - bottom + 14, name, "middle");
            }
        }

        Text(sb, 12, top + (ph / 2), yLabel, "middle", $"transform=\"rotate(-90 12 {N(top + (ph / 2))})\"");
        return Close(sb);
    }

    /// <summary>Small multiples of 20-bin histograms over [0, 1], one panel per after-task.</summary>
    public static string Histograms(string title, IReadOnlyList<(string Label, IReadOnlyList<double> Fractions, double Mean)> panels)
    {
        int pw = 150, ph = 90, gap = 16, top = 34;
        int width = Math.Max(320, (panels.Count * (pw + gap)) + 20), height = top + ph + 44;
        var sb = Open(width, height, title);
        Text(sb, width / 2.0, 18, title, "middle", "font-weight=\"bold\"");
        for (int p = 0; p < panels.Count; p++)
        {
            var (label, fractions, mean) = panels[p];
            double x0 = 10 + (p * (pw + gap));
            double max = Math.Max(fractions.DefaultIfEmpty(0).Max(), 1e-9);
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x0)}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#dddddd\"/>");
            for (int b = 0; b < fractions.Count; b++)
            {
                double h = ph * fractions[b] / max;
                double bw = pw / (double)fractions.Count;
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x0 + (b * bw))}\" y=\"{N(top + ph - h)}\" width=\"{N(bw - 1)}\" height=\"{N(h)}\" fill=\"{Palette[0]}\"/>");
            }

            Text(sb, x0, top + ph + 12, "0");
            Text(sb, x0 + pw, top + ph + 12, "1", "end");
            Text(sb, x0 + (pw / 2.0), top + ph + 26, $"{label} (mean {F(mean, "F2")})", "middle");
        }

        return Close(sb);
    }
}
