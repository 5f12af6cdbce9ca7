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

        // Sweeps may group by different fields ("gru" in one, "gru / naive" in another): both are regrouped by every
        // field either groups by, read from each run's config, so groups match on the values they share.
        var fields = first.Runs.Concat(second.Runs).SelectMany(r => r.Factors.Keys).Distinct(StringComparer.Ordinal).ToList();
        first = Regroup(first, fields);
        second = Regroup(second, fields);
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
                double difference = cb.Mean - ca.Mean;
                string shown = double.IsFinite(difference) ? difference.ToString("F4", s_inv).PadLeft(9) : "        —";
                sb.Append(s_inv, $"{group.PadRight(width)} {m.Header,-22} {Cell(ca),-22} {Cell(cb),-22} {shown}\n");
            }
        }

        var onlyA = a.Groups.Select(g => g.Name).Except(b.Groups.Select(g => g.Name), StringComparer.Ordinal).ToList();
        var onlyB = b.Groups.Select(g => g.Name).Except(a.Groups.Select(g => g.Name), StringComparer.Ordinal).ToList();
        if (onlyA.Count > 0 || onlyB.Count > 0)
        {
            sb.Append(s_inv, $"(groups by {string.Join(" / ", fields.Select(ShortName))}; no difference where a group has no finished run in one sweep: ")
              .Append(string.Join("; ", new[] { (first.SweepName, onlyA), (second.SweepName, onlyB) }.Where(x => x.Item2.Count > 0).Select(x => $"only in '{x.Item1}': {string.Join(", ", x.Item2)}")))
              .Append(")\n");
        }

        return sb.Append(Legend(first.IsRegression, best: false)).ToString();
    }

    /// <summary>The report with every run's group made of <paramref name="fields"/>' values in its config ("?" where it has none).</summary>
    private static SweepReport Regroup(SweepReport report, List<string> fields)
    {
        if (fields.Count == 0)
        {
            return report;
        }

        var runs = report.Runs.Select(r =>
        {
            var config = ConfigValues(r.ConfigJson);
            var factors = fields.ToDictionary(f => f, f => r.Factors.TryGetValue(f, out var v) ? v : config.GetValueOrDefault(f, "?"), StringComparer.Ordinal);
            return r with { Group = string.Join(" / ", fields.Select(f => factors[f])), Factors = factors };
        }).ToList();
        return report with { Runs = runs, GroupBy = string.Join(" / ", fields.Select(ShortName)) };
    }

    private static string ShortName(string path)
    {
        var parts = path.Split('.');
        return parts.Length > 1 && parts[^1] == "kind" ? parts[^2] : parts[^1];
    }

    /// <summary>A stored config's leaves by dotted path, as text (strings unquoted, numbers as written).</summary>
    private static Dictionary<string, string> ConfigValues(string json)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(json))
        {
            return result;
        }

        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Walk(doc.RootElement, "");
        return result;

        void Walk(System.Text.Json.JsonElement e, string prefix)
        {
            foreach (var p in e.EnumerateObject())
            {
                string path = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
                if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    Walk(p.Value, path);
                }
                else
                {
                    result[path] = p.Value.ValueKind == System.Text.Json.JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }
        }
    }

    private static string Kind(SweepReport report) => report.IsRegression ? "regression" : "classification";

    private static MeanInterval Interval(ReportAnalysis analysis, string group, string metric) =>
        analysis.Intervals.TryGetValue(group, out var metrics) && metrics.TryGetValue(metric, out var ci) ? ci : MeanInterval.Of([]);

    private static string Cell(MeanInterval ci) => ci.Count == 0 || !double.IsFinite(ci.Mean) ? "—"
        : double.IsFinite(ci.HalfWidth) ? string.Create(s_inv, $"{ci.Mean:F4} ± {ci.HalfWidth:F4}") : string.Create(s_inv, $"{ci.Mean:F4} (n={ci.Count})");

    private static string Legend(bool regression, bool best) =>
        "(mean ± 95% CI over seeds, Student's t; ↑ higher is better, ↓ lower is better" + (best ? "; * best" : "")
        + "; " + ForgettingMetrics.ShortConventions + ")\n"
        + (regression
            ? "(" + ReportWriter.RegressionNote + ")\n"
            : "");
}
