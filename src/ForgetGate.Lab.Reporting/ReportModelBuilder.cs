using System.Globalization;
using System.Text.Json;
using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Reporting;

/// <summary>
/// Builds a <see cref="SweepReport"/> from a sweep's stored rows: groups the runs, rebuilds each run's R from its
/// evaluation rows and adds intransigence against the cumulative run of the same point. Every command and page that
/// shows a sweep (report, run, status, compare, export, serve) goes through here.
/// </summary>
public static class ReportModelBuilder
{
    /// <summary>
    /// The report model of a sweep. Runs are grouped by every config field that every run has and that varies, except the
    /// seed; the strategy comes first when it varies (then the variant), so a baselines sweep's table reads strategy by strategy.
    /// </summary>
    public static SweepReport Build(SweepData data, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(data);
        // Fields left out of a config at their default (scenario.sequence, model.init) are put back, so a sweep over them groups.
        var flat = data.Runs.ToDictionary(r => r.Id, r => SpecSchema.WithOmittedDefaults(Flatten(r.ConfigJson)));
        // Fields present in only some runs (replay's buffer_size) follow from one that varies (strategy.kind); a cell
        // file's definition (model.cell) follows from its name in model.variant.
        var varying = flat.Values.SelectMany(f => f.Keys).Distinct(StringComparer.Ordinal)
            // Neither the seed (the spread over seeds is the point) nor the name (a run reused from another sweep keeps
            // its own; it is not part of the config hash) makes a group; a cell file's definition (model.cell) follows from its name in model.variant.
            .Where(k => k != "seed" && !RunConfig.NotHashed.Contains(k) && k != "model.cell" && flat.Values.All(f => f.ContainsKey(k)) && flat.Values.Select(f => f[k]).Distinct(StringComparer.Ordinal).Count() > 1)
            .OrderBy(k => k switch { "strategy.kind" => 0, "model.variant" => 1, _ => 2 }).ThenBy(k => k, StringComparer.Ordinal).ToList();
        if (varying.Count == 0)
        {
            varying.Add("model.variant");
        }

        bool regression = flat.Values.Any(f => f.GetValueOrDefault("scenario.kind") == "drift");
        int tasks = data.Evaluations.Count == 0 ? 0 : data.Evaluations.Max(e => e.EvalTask) + 1;
        var summaries = data.Summaries.ToLookup(s => s.RunId);
        var evaluations = data.Evaluations.ToLookup(e => e.RunId);
        var gates = data.Gates.ToLookup(g => g.RunId);
        var losses = data.Losses.ToLookup(l => l.RunId);
        var gateSteps = data.GateSteps.ToLookup(g => g.RunId, g => g.Row);
        // Intransigence pairs each run with the cumulative run of the same point: same config but for strategy.*.
        string scoreMetric = regression ? "score" : "accuracy";
        var cumulative = data.Runs.Where(r => r.Status == "succeeded" && flat[r.Id].GetValueOrDefault("strategy.kind") == "cumulative")
            .GroupBy(r => PointKey(flat[r.Id])).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        var runs = data.Runs.Select(r =>
        {
            var f = flat[r.Id];
            var summary = summaries[r.Id].ToList();
            if (f.GetValueOrDefault("strategy.kind") != "cumulative" && cumulative.TryGetValue(PointKey(f), out long jointId)
                && Matrix(evaluations[r.Id], scoreMetric, tasks) is { } own && Matrix(evaluations[jointId], scoreMetric, tasks) is { } joint)
            {
                summary.Add(new StoredSummary(r.Id, "intransigence", ForgettingMetrics.IntransigenceConvention, ForgettingMetrics.Intransigence(own, joint)));
            }

            return new RunReport(
                r.Id, string.Join(" / ", varying.Select(k => f.GetValueOrDefault(k, "?"))), r.Seed,
                varying.ToDictionary(k => k, k => f.GetValueOrDefault(k, "?"), StringComparer.Ordinal), r.Status, r.ConfigJson, r.ConfigHash,
                r.CodeVersion ?? "", r.DatasetFingerprint ?? "", ParseEnvironment(r.Environment),
                summary.FirstOrDefault(s => s.Metric == "wall_seconds")?.Value ?? double.NaN,
                summary.FirstOrDefault(s => s.Metric == "train_samples_per_s")?.Value ?? double.NaN,
                [.. evaluations[r.Id].Select(e => new EvaluationPoint(e.AfterTask, e.Epoch, e.EvalTask, e.Metric, e.Value))],
                [.. summary.Select(s => new SummaryMetric(s.Metric, s.Convention, s.Value))],
                [.. gates[r.Id].Select(g => new GateHistogram(g.AfterTask, g.Layer, g.EvalTask, g.Mean, g.FracGt09, g.FracLt01, g.Histogram))],
                [.. losses[r.Id].Select(l => new LossPoint(l.Task, l.Epoch, l.Step, l.Loss))],
                r.ReusedFrom,
                [.. gateSteps[r.Id]],
                DateTimeOffset.TryParse(r.StartedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var started) ? started : null);
        }).ToList();
        return new SweepReport(
            data.Sweep.Name, data.Sweep.SpecHash, generatedAt, regression,
            [.. Enumerable.Range(1, tasks).Select(t => string.Create(CultureInfo.InvariantCulture, $"T{t}"))],
            string.Join(" / ", varying.Select(FieldLabel)), runs);
    }

    /// <summary>A field's short label: its last part (<c>model.variant</c> → variant), or the part before a <c>kind</c> (<c>strategy.kind</c> → strategy).</summary>
    private static string FieldLabel(string path)
    {
        var parts = path.Split('.');
        return parts.Length > 1 && parts[^1] == "kind" ? parts[^2] : parts[^1];
    }

    private static string PointKey(Dictionary<string, string> config) =>
        string.Join('\n', config.Where(kv => !kv.Key.StartsWith("strategy.", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>R [(T+1) × T] from a run's rows at each task's last epoch; null when a cell is missing.</summary>
    private static double[,]? Matrix(IEnumerable<StoredEvaluation> rows, string metric, int tasks)
    {
        var r = new double[tasks + 1, tasks];
        var seen = new bool[tasks + 1, tasks];
        var lastEpoch = new Dictionary<(int, int), int>();
        foreach (var e in rows.Where(e => e.Metric == metric && e.AfterTask <= tasks && e.EvalTask < tasks))
        {
            if (!lastEpoch.TryGetValue((e.AfterTask, e.EvalTask), out int epoch) || e.Epoch > epoch)
            {
                lastEpoch[(e.AfterTask, e.EvalTask)] = e.Epoch;
                r[e.AfterTask, e.EvalTask] = e.Value;
                seen[e.AfterTask, e.EvalTask] = true;
            }
        }

        return seen.Cast<bool>().All(x => x) ? r : null;
    }

    private static Dictionary<string, string> ParseEnvironment(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return new Dictionary<string, string>();
        }

        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString(), StringComparer.Ordinal);
    }

    /// <summary>
    /// A stored config by dotted path, as stored. Fields left out at their default (<see cref="SpecField.OmittedAtDefault"/>,
    /// such as model.init) are filled in by the caller through <see cref="SpecSchema.WithOmittedDefaults"/>, the one place
    /// that knows which of them apply to a run (scenario.sequence only to image scenarios).
    /// </summary>
    private static Dictionary<string, string> Flatten(string json)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(json);
        Walk(doc.RootElement, "");
        return result;

        void Walk(JsonElement e, string prefix)
        {
            foreach (var p in e.EnumerateObject())
            {
                string path = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
                if (p.Value.ValueKind == JsonValueKind.Object)
                {
                    Walk(p.Value, path);
                }
                else
                {
                    result[path] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }
        }
    }
}
