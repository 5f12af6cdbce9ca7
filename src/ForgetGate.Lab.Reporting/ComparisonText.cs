using System.Globalization;
using System.Text;
using ForgetGate.Lab.Core.Metrics;

namespace ForgetGate.Lab.Reporting;

/// <summary>
/// The comparison tables <c>run</c> and <c>compare</c> print: the same metrics, labels, directions and values as the
/// report's comparison table (a regression sweep in MSE, lower is better), as plain text with invariant numbers.
/// </summary>
public static class ComparisonText
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>The groups of one sweep side by side: mean ± 95% CI over seeds per metric, the best marked with *.</summary>
    public static string Of(SweepReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var a = new ReportAnalysis(report);
        int width = Math.Max(10, a.Groups.Select(g => g.Name.Length).Append(report.GroupBy.Length).Max());
        var sb = new StringBuilder();
        sb.Append(s_inv, $"{report.GroupBy.PadRight(width)} {"runs",4}  ").Append(string.Join("  ", a.Metrics.Select(m => m.Header.PadRight(22))).TrimEnd()).Append('\n');
        foreach (var g in a.Groups)
        {
            sb.Append(s_inv, $"{g.Name.PadRight(width)} {g.Runs.Count,4}  ")
              .Append(string.Join("  ", a.Metrics.Select(m => (Cell(a.Intervals[g.Name][m.Name]) + (a.Best[m.Name] == g.Name && a.Groups.Count > 1 ? " *" : "")).PadRight(22))).TrimEnd())
              .Append('\n');
        }

        return sb.Append(Legend(report.IsRegression, best: a.Groups.Count > 1)).ToString();
    }

    /// <summary>Two sweeps group by group: per metric, each sweep's mean ± 95% CI and the difference of means (B − A).</summary>
    public static string Of(SweepReport first, SweepReport second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.IsRegression != second.IsRegression)
        {
            throw new ArgumentException($"'{first.SweepName}' is a {Kind(first)} sweep and '{second.SweepName}' a {Kind(second)} one; their metrics are not comparable.");
        }

        var a = new ReportAnalysis(first);
        var b = new ReportAnalysis(second);
        var groups = first.Runs.Select(r => r.Group).Union(second.Runs.Select(r => r.Group)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        int width = Math.Max(22, groups.Append("group").Max(g => g.Length));
        var sb = new StringBuilder();
        sb.Append(s_inv, $"{"group".PadRight(width)} {"metric",-22} {first.SweepName,-22} {second.SweepName,-22} difference (B − A)\n");
        foreach (string group in groups)
        {
            foreach (var m in a.Metrics)
            {
                var ca = Interval(a, group, m.Name);
                var cb = Interval(b, group, m.Name);
                sb.Append(s_inv, $"{group.PadRight(width)} {m.Header,-22} {Cell(ca),-22} {Cell(cb),-22} {cb.Mean - ca.Mean,9:F4}\n");
            }
        }

        return sb.Append(Legend(first.IsRegression, best: false)).ToString();
    }

    private static string Kind(SweepReport report) => report.IsRegression ? "regression" : "classification";

    private static MeanInterval Interval(ReportAnalysis analysis, string group, string metric) =>
        analysis.Intervals.TryGetValue(group, out var metrics) && metrics.TryGetValue(metric, out var ci) ? ci : MeanInterval.Of([]);

    private static string Cell(MeanInterval ci) => ci.Count == 0 || !double.IsFinite(ci.Mean) ? "—"
        : double.IsFinite(ci.HalfWidth) ? string.Create(s_inv, $"{ci.Mean:F4} ± {ci.HalfWidth:F4}") : string.Create(s_inv, $"{ci.Mean:F4} (n={ci.Count})");

    private static string Legend(bool regression, bool best) =>
        "(mean ± 95% CI over seeds, Student's t; ↑ higher is better, ↓ lower is better" + (best ? "; * best" : "")
        + "; forgetting: Chaudhry et al. 2018, final row excluded from the max; BWT and FWT divide by T−1)\n"
        + (regression
            ? "(" + ReportWriter.RegressionNote + ")\n"
            : "");
}
