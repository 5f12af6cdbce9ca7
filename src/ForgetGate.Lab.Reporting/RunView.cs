using System.Globalization;
using System.Text;
using static ForgetGate.Lab.Reporting.Svg;

namespace ForgetGate.Lab.Reporting;

/// <summary>One run's curves and provenance as HTML (the dashboard's run page), with the report's figures' look.</summary>
public static class RunView
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>Evaluation curves (score on each task through training), the training loss, gates through time, provenance and config.</summary>
    public static string Html(SweepReport report, RunReport run)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(run);
        var sb = new StringBuilder("<div class=\"figs\">");
        string metric = report.IsRegression ? "mse" : "accuracy";
        var evals = run.Evaluations.Where(e => e.Metric == metric).ToList();
        if (evals.Count > 0)
        {
            var positions = evals.Select(e => (e.AfterTask, e.Epoch)).Distinct().OrderBy(p => p.AfterTask).ThenBy(p => p.Epoch).ToList();
            var labels = positions.Select(p => p.AfterTask == 0 ? "0" : $"{p.AfterTask}.{p.Epoch}").ToList();
            var boundaries = positions.Select((p, k) => (p, k)).Where(x => x.k == 0 || positions[x.k - 1].AfterTask != x.p.AfterTask).Select(x => x.k).ToList();
            var series = evals.Select(e => e.EvalTask).Distinct().Order().Select(j =>
            {
                var values = positions.Select(p => evals.FirstOrDefault(e => e.EvalTask == j && e.AfterTask == p.AfterTask && e.Epoch == p.Epoch)?.Value ?? double.NaN).ToArray();
                return (j < report.TaskNames.Count ? report.TaskNames[j] : "T" + (j + 1).ToString(s_inv), values, values, values);
            }).ToList();
            double high = report.IsRegression ? Math.Max(evals.Max(e => e.Value), 1e-9) : 1;
            sb.Append(Curves($"run {run.RunId}: {metric} on each task through training", labels, series, 0, high, metric, boundaries));
        }

        if (run.Loss.Count > 0)
        {
            var loss = run.Loss.OrderBy(l => l.Task).ThenBy(l => l.Epoch).ThenBy(l => l.Step).ToList();
            int every = Math.Max(1, loss.Count / 300); // a few hundred points draw the shape; the store keeps every batch
            var picked = loss.Where((_, k) => k % every == 0).ToList();
            var values = picked.Select(l => l.Loss).ToArray();
            var labels = picked.Select(l => $"{l.Task}.{l.Epoch}").ToList();
            var boundaries = picked.Select((l, k) => (l, k)).Where(x => x.k == 0 || picked[x.k - 1].Task != x.l.Task).Select(x => x.k).ToList();
            sb.Append(Curves($"run {run.RunId}: training loss per batch", labels, [("loss", values, values, values)], 0, Math.Max(values.Where(double.IsFinite).DefaultIfEmpty(1).Max(), 1e-9), "loss", boundaries));
        }

        var gateRows = GateFigures.TaskRows([run], report.TaskNames);
        if (gateRows.Count > 0)
        {
            sb.Append(GateFigures.Heatmap($"run {run.RunId}: mean forget gate per time step after each task (layer {GateFigures.Layer})",
                [.. gateRows.Select(r => r.Label)], (r, t) => gateRows[r].Means[t], gateRows.Count, gateRows[0].Means.Length, "", labelEveryRow: true));
        }

        sb.Append("</div>");
        if (run.Summary.Count > 0)
        {
            sb.Append("<h2>Summary</h2><table><tr><th>metric</th><th>value</th><th>convention</th></tr>");
            foreach (var m in run.Summary)
            {
                sb.Append(s_inv, $"<tr><td>{E(m.Name)}</td><td>{F(m.Value, "F4")}</td><td>{E(m.Convention)}</td></tr>");
            }

            sb.Append("</table>");
        }

        sb.Append("<h2>Provenance</h2><p>config SHA-256 <code>").Append(E(run.ConfigHash)).Append("</code><br>code ").Append(E(run.CodeVersion))
          .Append("<br>dataset fingerprint <code>").Append(E(run.DatasetFingerprint)).Append("</code><br>environment: ")
          .Append(E(string.Join(", ", run.Environment.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}"))));
        if (run.ReusedFrom is { } source)
        {
            sb.Append(s_inv, $"<br>reused from run {source} of an earlier sweep");
        }

        sb.Append("</p><h2>Config</h2><pre>").Append(E(run.ConfigJson)).Append("</pre>");
        return sb.ToString();
    }
}
