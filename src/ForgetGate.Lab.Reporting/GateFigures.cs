using System.Globalization;
using System.Text;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting.TensorBoard;
using static ForgetGate.Lab.Reporting.Svg;

namespace ForgetGate.Lab.Reporting;

/// <summary>
/// Gates through time (DESIGN.md §12): when in a sequence a gate design lets memory go, and how that moves as tasks
/// arrive. Heatmap cells are one PNG pixel each, embedded in the SVG and scaled without smoothing, so a figure costs a
/// few KB whatever its size (a 128-unit × 784-step matrix as SVG rectangles would be megabytes); axes and labels stay SVG.
/// </summary>
internal static class GateFigures
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The layer the figures show: the first, nearest to the input (every layer is in the store and the TensorBoard export).</summary>
    public const int Layer = 0;

    /// <summary>Mean gate per step (averaged over every task's probe batch and the runs) after each task, rows = untrained, after T1, …</summary>
    public static List<(string Label, double[] Means)> TaskRows(IReadOnlyList<RunReport> runs, IReadOnlyList<string> taskNames)
    {
        var rows = runs.SelectMany(r => r.GateStepRows.Where(g => g.Layer == Layer)).ToList();
        var result = new List<(string, double[])>();
        if (rows.Count == 0)
        {
            return result;
        }

        int steps = rows.Max(g => g.Steps);
        for (int after = 0; after <= taskNames.Count; after++)
        {
            // The model at the end of the task: each run's last epoch of it.
            var at = runs.SelectMany(r =>
            {
                var mine = r.GateStepRows.Where(g => g.Layer == Layer && g.AfterTask == after).ToList();
                return mine.Count == 0 ? [] : mine.Where(g => g.Epoch == mine.Max(x => x.Epoch));
            }).ToList();
            if (at.Count == 0)
            {
                continue;
            }

            var means = new double[steps];
            for (int t = 0; t < steps; t++)
            {
                means[t] = at.Where(g => t < g.StepMeans.Count).Select(g => g.StepMeans[t]).DefaultIfEmpty(double.NaN).Average();
            }

            result.Add((after == 0 ? "untrained" : "after " + taskNames[after - 1], means));
        }

        return result;
    }

    /// <summary>The unit × step matrix of the probe sample of the last task after the last task, of the group's first run.</summary>
    public static (RunReport Run, GateStepRow Row)? LastTaskSample(IReadOnlyList<RunReport> runs, int tasks)
    {
        foreach (var run in runs.OrderBy(r => r.Seed).ThenBy(r => r.RunId))
        {
            var rows = run.GateStepRows.Where(g => g.Layer == Layer && g.AfterTask == tasks && g.EvalTask == tasks - 1).ToList();
            if (rows.Count > 0)
            {
                return (run, rows.MaxBy(g => g.Epoch)!);
            }
        }

        return null;
    }

    /// <summary>Rows × steps heatmap of gate values on a fixed [0, 1] scale (so variants compare by colour).</summary>
    public static string Heatmap(string title, IReadOnlyList<string> rowLabels, Func<int, int, double> value, int rowCount, int steps, string rowAxis, bool labelEveryRow)
    {
        int plotW = Math.Clamp(steps * 16, 280, 640), rowH = rowCount <= 12 ? 22 : Math.Max(2, 300 / rowCount);
        int left = labelEveryRow ? 92 : 56, top = 34, plotH = rowCount * rowH;
        int width = left + plotW + 80, height = top + plotH + 48;
        var rgb = new byte[steps * rowCount * 3];
        for (int r = 0; r < rowCount; r++)
        {
            for (int t = 0; t < steps; t++)
            {
                var (cr, cg, cb) = HeatRgb(value(r, t));
                int o = ((r * steps) + t) * 3;
                (rgb[o], rgb[o + 1], rgb[o + 2]) = (cr, cg, cb);
            }
        }

        var sb = Open(width, height, title);
        Text(sb, width / 2.0, 18, title, "middle", "font-weight=\"bold\"");
        sb.Append(s_inv, $"<image x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{Convert.ToBase64String(Png.EncodeRgb(steps, rowCount, rgb))}\"/>");
        for (int r = 0; r < rowCount; r++)
        {
            if (labelEveryRow || r == 0 || r == rowCount - 1)
            {
                Text(sb, left - 6, top + (r * rowH) + (rowH / 2.0) + 4, rowLabels[r], "end");
            }
        }

        foreach (int t in Ticks(steps))
        {
            Text(sb, left + ((t + 0.5) * plotW / steps), top + plotH + 14, (t + 1).ToString(s_inv), "middle");
        }

        Text(sb, left + (plotW / 2.0), top + plotH + 32, "time step", "middle");
        if (!labelEveryRow)
        {
            Text(sb, 12, top + (plotH / 2.0), rowAxis, "middle", $"transform=\"rotate(-90 12 {N(top + (plotH / 2.0))})\"");
        }

        Legend(sb, left + plotW + 16, top);
        return Close(sb);
    }

    /// <summary>One panel per variant: the mean gate per step after each task (light: early tasks, dark: the last), same axes everywhere.</summary>
    public static string SmallMultiples(string title, IReadOnlyList<(string Group, List<(string Label, double[] Means)> Rows)> panels)
    {
        int pw = 200, ph = 120, gapX = 28, gapY = 44, top = 40, left = 40, perRow = Math.Min(3, Math.Max(1, panels.Count));
        int rowsOfPanels = (panels.Count + perRow - 1) / perRow;
        int width = left + (perRow * (pw + gapX)) + 10, height = top + (rowsOfPanels * (ph + gapY)) + 10;
        var sb = Open(width, height, title);
        Text(sb, width / 2.0, 18, title, "middle", "font-weight=\"bold\"");
        for (int p = 0; p < panels.Count; p++)
        {
            var (group, rows) = panels[p];
            double x0 = left + (p % perRow * (pw + gapX)), y0 = top + (p / perRow * (ph + gapY));
            sb.Append(s_inv, $"<rect x=\"{N(x0)}\" y=\"{N(y0)}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#cccccc\"/>");
            Text(sb, x0 + (pw / 2.0), y0 - 6, group, "middle", "font-weight=\"bold\"");
            foreach (double v in new[] { 0.0, 0.5, 1.0 })
            {
                double y = y0 + ph - (ph * v);
                sb.Append(s_inv, $"<line x1=\"{N(x0)}\" x2=\"{N(x0 + pw)}\" y1=\"{N(y)}\" y2=\"{N(y)}\" stroke=\"#eeeeee\"/>");
                if (p % perRow == 0)
                {
                    Text(sb, x0 - 4, y + 4, F(v, "F1"), "end");
                }
            }

            int steps = rows.Count == 0 ? 1 : rows.Max(r => r.Means.Length);
            for (int k = 0; k < rows.Count; k++)
            {
                double shade = rows.Count == 1 ? 1 : 0.25 + (0.75 * k / (rows.Count - 1));
                var points = rows[k].Means.Select((v, t) => (v, t)).Where(x => double.IsFinite(x.v))
                    .Select(x => $"{N(x0 + (steps == 1 ? 0 : pw * x.t / (double)(steps - 1)))},{N(y0 + ph - (ph * Math.Clamp(x.v, 0, 1)))}");
                sb.Append(s_inv, $"<polyline points=\"{string.Join(" ", points)}\" fill=\"none\" stroke=\"{Heat(shade)}\" stroke-width=\"1.5\"><title>{E(group + ", " + rows[k].Label)}</title></polyline>");
            }

            Text(sb, x0, y0 + ph + 13, "1");
            Text(sb, x0 + pw, y0 + ph + 13, steps.ToString(s_inv), "end");
            Text(sb, x0 + (pw / 2.0), y0 + ph + 13, "time step", "middle", "fill=\"#666666\"");
        }

        return Close(sb);
    }

    private static IEnumerable<int> Ticks(int steps)
    {
        int every = steps <= 10 ? 1 : steps <= 40 ? 5 : steps <= 200 ? 25 : 100;
        yield return 0;
        for (int t = every - 1; t < steps; t += every)
        {
            if (t > 0)
            {
                yield return t;
            }
        }
    }

    private static void Legend(StringBuilder sb, int x, int top)
    {
        for (int k = 0; k < 10; k++)
        {
            sb.Append(s_inv, $"<rect x=\"{x}\" y=\"{top + (k * 12)}\" width=\"14\" height=\"12\" fill=\"{Heat(1 - (k / 9.0))}\"/>");
        }

        Text(sb, x + 18, top + 9, "1 (keeps)");
        Text(sb, x + 18, top + 117, "0 (forgets)");
    }
}
