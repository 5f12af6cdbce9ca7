using System.Globalization;
using System.Text;
using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Serialization;
using static ForgetGate.Lab.Reporting.Svg;

namespace ForgetGate.Lab.Reporting;

/// <summary>Renders a <see cref="SweepReport"/> into report.html (self-contained), report.md, runs.csv, evaluations.csv and figures/*.svg.</summary>
public static class ReportWriter
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>All files of the report, by relative path; a pure function of the model.</summary>
    public static IReadOnlyDictionary<string, string> Render(SweepReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var a = new ReportAnalysis(report);
        var figures = Figures(a);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, svg) in figures)
        {
            files["figures/" + name] = svg;
        }

        files["report.html"] = Html(a, figures);
        files["report.md"] = Markdown(a, figures);
        files["runs.csv"] = RunsCsv(a);
        files["evaluations.csv"] = EvaluationsCsv(report);
        return files;
    }

    /// <summary>Writes every file (each replaced whole, see <see cref="AtomicFile"/>) and returns the path of report.html.</summary>
    public static string Write(SweepReport report, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(outputDirectory);
        foreach (var (relative, content) in Render(report))
        {
            AtomicFile.Write(Path.Combine(outputDirectory, relative), s_utf8.GetBytes(content));
        }

        return Path.Combine(outputDirectory, "report.html");
    }

    private static List<(string Name, string Svg)> Figures(ReportAnalysis a)
    {
        var list = new List<(string, string)>();
        string valueLabel = a.Report.IsRegression ? "MSE (lower is better)" : "accuracy";
        var allCells = a.Groups.SelectMany(g => a.MeanMatrix(g).Cast<double>()).Where(double.IsFinite).ToList();
        double low = 0, high = a.Report.IsRegression ? (allCells.Count > 0 ? allCells.Max() : 1) : 1;
        foreach (var (g, i) in a.Groups.Select((g, i) => (g, i)))
        {
            list.Add(($"heatmap-{i}.svg", Heatmap($"{a.Report.GroupBy} {g.Name}: R[i][j] ({valueLabel}, mean of {g.Runs.Count})", a.MeanMatrix(g), low, high, valueLabel, a.Report.TaskNames)));
        }

        foreach (var (g, i) in a.Groups.Select((g, i) => (g, i)))
        {
            var positions = a.Positions(g);
            var labels = positions.Select(p => p.AfterTask == 0 ? "0" : $"{p.AfterTask}.{p.Epoch}").ToList();
            var boundaries = positions.Select((p, k) => (p, k)).Where(x => x.k == 0 || positions[x.k - 1].AfterTask != x.p.AfterTask).Select(x => x.k).ToList();
            var curves = a.Curves(g, positions);
            var finite = curves.SelectMany(c => c.Low.Concat(c.High)).Where(double.IsFinite).ToList();
            double yLow = 0, yHigh = a.Report.IsRegression ? (finite.Count > 0 ? finite.Max() : 1) : 1;
            list.Add(($"curves-{i}.svg", Curves($"{g.Name}: {valueLabel} on each task through training", labels, curves, yLow, yHigh, valueLabel, boundaries)));
        }

        foreach (var (name, label, higher, _) in a.Metrics)
        {
            var bars = a.Groups.Select(g => (g.Name, a.Intervals[g.Name][name].Mean, a.Intervals[g.Name][name].HalfWidth)).ToList();
            int best = a.Groups.ToList().FindIndex(g => g.Name == a.Best[name]);
            list.Add(($"compare-{name}.svg", Bars($"{label} ({(higher ? "higher" : "lower")} is better), mean ± 95% CI", bars, label, best)));
        }

        foreach (var (g, i) in a.Groups.Select((g, i) => (g, i)))
        {
            var panels = g.Runs.SelectMany(r => r.Gates).Where(h => h.Layer == 0 && h.EvalTask == h.AfterTask - 1)
                .GroupBy(h => h.AfterTask).OrderBy(x => x.Key)
                .Select(x => ($"after {a.Report.TaskNames[x.Key - 1]}", (IReadOnlyList<double>)Enumerable.Range(0, x.First().Counts.Count).Select(b => x.Average(h => h.Counts[b])).ToList(), x.Average(h => h.Mean)))
                .ToList();
            if (panels.Count > 0)
            {
                list.Add(($"gates-{i}.svg", Histograms($"{g.Name}: effective forget gate on the task just learned (layer 0)", panels)));
            }
        }

        // Gates through time: per group a task × step heatmap and the last task's unit × step matrix, then all groups at once.
        var multiples = new List<(string, List<(string Label, double[] Means)>)>();
        foreach (var (g, i) in a.Groups.Select((g, i) => (g, i)))
        {
            var rows = GateFigures.TaskRows(g.Runs, a.Report.TaskNames);
            if (rows.Count == 0)
            {
                continue;
            }

            multiples.Add((g.Name, rows));
            list.Add(($"gate-steps-{i}.svg", GateFigures.Heatmap(
                $"{g.Name}: mean forget gate per time step after each task (layer {GateFigures.Layer}, all tasks' probes, {g.Runs.Count} run(s))",
                [.. rows.Select(r => r.Label)], (r, t) => rows[r].Means[t], rows.Count, rows[0].Means.Length, "", labelEveryRow: true)));
            if (GateFigures.LastTaskSample(g.Runs, a.Report.TaskNames.Count) is var (run, row))
            {
                list.Add(($"gate-units-{i}.svg", GateFigures.Heatmap(
                    $"{g.Name}: forget gate of each unit on one {a.Report.TaskNames[^1]} sample after the last task (run {run.RunId}, layer {GateFigures.Layer})",
                    [.. Enumerable.Range(1, row.Units).Select(u => "unit " + u.ToString(CultureInfo.InvariantCulture))], (u, t) => row.SampleGates[(u * row.Steps) + t],
                    row.Units, row.Steps, "unit", labelEveryRow: false)));
            }
        }

        if (multiples.Count > 0)
        {
            list.Add(("gate-variants.svg", GateFigures.SmallMultiples("Mean forget gate per time step after each task (light: first task, dark: last), all groups", multiples)));
        }

        var throughput = a.Groups.Select(g => (g.Name, MeanOf(g.Runs.Select(r => r.TrainSamplesPerSecond)), double.NaN)).ToList();
        list.Add(("throughput.svg", Bars("Training throughput (samples/s, mean over runs)", throughput, "samples/s", -1)));
        return list;
    }

    private static readonly string[] s_timeParts = ["time_data_s", "time_train_s", "time_eval_s", "time_checkpoint_s", "time_store_s"];

    private static readonly string[] s_timeSplitHeaders = ["data preparation", "training", "evaluation", "checkpointing", "store writes"];

    private const string TimeSplitNote =
        "Mean seconds per run of the last attempt (share of its wall time); data preparation is batch assembly for training, evaluation and gate probes, training is what is left of the wall time.";

    /// <summary>Per group: mean wall seconds and mean seconds of each part, over runs that recorded the split (none: empty).</summary>
    private static List<(string Group, double Wall, double[] Parts)> TimeSplit(ReportAnalysis a)
    {
        var rows = new List<(string, double, double[])>();
        foreach (var g in a.Groups)
        {
            var runs = g.Runs.Where(r => r.Summary.Any(m => m.Name == s_timeParts[0])).ToList();
            if (runs.Count == 0)
            {
                continue;
            }

            double[] parts = [.. s_timeParts.Select(name => MeanOf(runs.Select(r => r.Summary.First(m => m.Name == name).Value)))];
            rows.Add((g.Name, MeanOf(runs.Select(r => r.WallSeconds)), parts));
        }

        return rows;
    }

    private static string TimePart(double seconds, double wall) =>
        string.Create(s_inv, $"{F(seconds, "F2")} ({(wall > 0 ? 100 * seconds / wall : double.NaN):F0}%)");

    private static void TimeSplitHtml(StringBuilder sb, ReportAnalysis a)
    {
        var split = TimeSplit(a);
        if (split.Count == 0)
        {
            return;
        }

        sb.Append("<h2>Where the time goes</h2><table><tr><th>").Append(E(a.Report.GroupBy)).Append("</th><th>wall s</th>");
        foreach (string header in s_timeSplitHeaders)
        {
            sb.Append("<th>").Append(E(header)).Append("</th>");
        }

        sb.Append("</tr>");
        foreach (var (group, wall, parts) in split)
        {
            sb.Append("<tr><td>").Append(E(group)).Append("</td><td>").Append(F(wall, "F1")).Append("</td>");
            foreach (double part in parts)
            {
                sb.Append("<td>").Append(E(TimePart(part, wall))).Append("</td>");
            }

            sb.Append("</tr>");
        }

        sb.Append("</table><p>").Append(E(TimeSplitNote)).Append("</p>");
    }

    private static double MeanOf(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        return v.Count == 0 ? double.NaN : v.Average();
    }

    private static string Interval(ReportAnalysis a, string group, string metric)
    {
        var ci = a.Intervals[group][metric];
        return double.IsFinite(ci.HalfWidth) ? $"{F(ci.Mean)} ± {F(ci.HalfWidth)}" : $"{F(ci.Mean)} (n={ci.Count})";
    }

    /// <summary>How a regression report's comparison reads: the same words in HTML, Markdown and the console tables.</summary>
    internal const string RegressionNote =
        "Regression: errors in MSE, lower is better. Final MSE = −ACC and learning MSE = −learning accuracy on −MSE scores; " +
        "BWT and FWT (ΔMSE) are −BWT and −FWT, the change of MSE; forgetting is an MSE increase.";

    /// <summary>The report's style sheet (also the dashboard's).</summary>
    public const string Style =
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;line-height:1.45}h1,h2{font-weight:600}" +
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}" +
        ".best{font-weight:bold;background:#e8f4ea}.figs{display:flex;flex-wrap:wrap;gap:12px}.headline{font-size:1.15em;padding:.6em 1em;background:#f5f8fc;border-left:4px solid #0072B2}" +
        "pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}details{margin:.4em 0}code{font-size:12px}";

    /// <summary>The report page's body (what report.html holds between its body tags), for pages that embed it.</summary>
    public static string HtmlBody(SweepReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var a = new ReportAnalysis(report);
        return Body(a, Figures(a));
    }

    private static string Html(ReportAnalysis a, List<(string Name, string Svg)> figures) =>
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ForgetGate.Lab report: " + E(a.Report.SweepName) + "</title><style>" + Style +
        "</style></head><body>" + Body(a, figures) + "</body></html>\n";

    private static string Body(ReportAnalysis a, List<(string Name, string Svg)> figures)
    {
        var r = a.Report;
        var sb = new StringBuilder();
        sb.Append("<h1>").Append(E(r.SweepName)).Append("</h1>");
        sb.Append(s_inv, $"<p>{r.Runs.Count} run(s), grouped by <b>{E(r.GroupBy)}</b>; {r.TaskNames.Count} tasks; {(r.IsRegression ? "regression (score = −MSE; figures show MSE)" : "classification (accuracy)")}. Spec SHA-256 <code>{E(r.SpecHash)}</code>. Generated {E(r.GeneratedAt.ToString("u", s_inv))}.</p>");
        if (ScenarioText.Describe(r.Runs) is { Length: > 0 } scenario)
        {
            sb.Append("<p>Scenario: ").Append(E(scenario)).Append(".</p>");
        }

        sb.Append("<p class=\"headline\">").Append(E(a.Headline())).Append("</p>");
        sb.Append("<h2>Comparison</h2><table><tr><th>").Append(E(r.GroupBy)).Append("</th><th>runs</th>");
        foreach (var m in a.Metrics)
        {
            sb.Append("<th>").Append(E(m.Header)).Append("</th>");
        }

        sb.Append("<th>train samples/s</th></tr>");
        foreach (var g in a.Groups)
        {
            sb.Append("<tr><td>").Append(E(g.Name)).Append("</td><td>").Append(g.Runs.Count.ToString(s_inv)).Append("</td>");
            foreach (var m in a.Metrics)
            {
                sb.Append(a.Best[m.Name] == g.Name ? "<td class=\"best\">" : "<td>").Append(E(Interval(a, g.Name, m.Name))).Append("</td>");
            }

            sb.Append("<td>").Append(F(MeanOf(g.Runs.Select(x => x.TrainSamplesPerSecond)), "F0")).Append("</td></tr>");
        }

        sb.Append("</table><p>Mean ± 95% confidence interval over seeds (Student's t with n−1 degrees of freedom); the best value per column is bold.")
          .Append(r.IsRegression ? " " + E(RegressionNote) : "").Append("</p>");
        sb.Append("<p>").Append(E(InitNote(a))).Append("</p>");
        StrategyStateHtml(sb, a);
        Section(sb, "Accuracy matrices", figures, "heatmap-");
        Section(sb, "Forgetting curves (mean, band = min–max over seeds)", figures, "curves-");
        Section(sb, "Variant comparison", figures, "compare-");
        Section(sb, "Forget-gate histograms", figures, "gates-");
        Section(sb, "Forget gates through time", figures, "gate-variants", "gate-steps-", "gate-units-");
        Section(sb, "Throughput", figures, "throughput");
        TimeSplitHtml(sb, a);
        // The definitions come from ForgettingMetrics, the code that computes them: one source, no second copy in prose.
        sb.Append("<h2>Metric conventions</h2><ul><li>").Append(E(ForgettingMetrics.ScoreMatrixDefinition)).Append("</li>");
        foreach (string convention in ForgettingMetrics.Conventions)
        {
            sb.Append("<li>").Append(E(convention)).Append("</li>");
        }

        sb.Append("<li>").Append(E(ForgettingMetrics.OtherLibrariesNote)).Append("</li></ul>");
        sb.Append("<h2>Runs</h2>");
        foreach (var run in r.Runs.OrderBy(x => x.RunId))
        {
            string reused = run.ReusedFrom is { } source ? string.Create(s_inv, $" (reused from run {source} of an earlier sweep)") : "";
            sb.Append(s_inv, $"<details><summary>run {run.RunId}: {E(run.Group)} seed {run.Seed}, init {run.Init.Name()}, {E(run.Status)}{reused}, {F(run.WallSeconds, "F1")} s, {F(run.TrainSamplesPerSecond, "F0")} samples/s</summary>");
            sb.Append(s_inv, $"<p>config SHA-256 <code>{E(run.ConfigHash)}</code><br>code {E(run.CodeVersion)}<br>dataset fingerprint <code>{E(run.DatasetFingerprint)}</code><br>environment: {E(string.Join(", ", run.Environment.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}")))}</p>");
            sb.Append("<pre>").Append(E(run.ConfigJson)).Append("</pre></details>");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Which <c>model.init</c> each group's runs start from (issue 13: a CIFG learns differently under PyTorch's RNN init
    /// and under a hand-written nn.Linear cell's, so a reader must see which one a result used).
    /// </summary>
    internal static string InitNote(ReportAnalysis a)
    {
        var inits = a.Groups.Select(g => (g.Name, Inits: g.Runs.Select(r => r.Init).Distinct().Order().ToList())).ToList();
        var all = inits.SelectMany(g => g.Inits).Distinct().Order().ToList();
        string Phrase(ParameterInitKind k) => $"{k.Name()} ({k.Describe()})";
        string rules = " Each variant's bias rule (forget bias 1, chrono, ur-lstm's forget_bias, a cell file's init:) is applied on top (docs/variants.md).";
        if (all.Count == 0)
        {
            return "Initialisation (model.init): no succeeded run to name.";
        }

        if (all.Count == 1)
        {
            return $"Initialisation (model.init): every run uses {Phrase(all[0])}." + rules;
        }

        return "Initialisation (model.init) per " + a.Report.GroupBy + ": " + string.Join("; ", inits.Select(g => $"{g.Name}: {string.Join(" and ", g.Inits.Select(k => k.Name()))}"))
            + ". " + string.Join("; ", all.Select(Phrase)) + "." + rules;
    }

    private const string StrategyStateNote =
        "What each strategy keeps at the end of a run (mean over seeds): samples in its buffer or episodic memory and their bytes " +
        "(8-byte references to the dataset plus stored outputs, never copies of samples), all state it checkpoints " +
        "(snapshots, importances, running sums, gradient work vectors), and the share of steps whose gradient A-GEM/GEM projected.";

    /// <summary>Per group: mean memory samples, memory bytes, state bytes and projected share, for groups whose runs report them.</summary>
    private static List<(string Group, double Samples, double Memory, double State, double Projected)> StrategyState(ReportAnalysis a)
    {
        double Mean(ReportAnalysis.Group g, string name) =>
            MeanOf(g.Runs.Select(r => r.Summary.FirstOrDefault(s => s.Name == name)?.Value ?? double.NaN));
        return a.Groups.Where(g => g.Runs.Any(r => r.Summary.Any(s => s.Name == "strategy_state_bytes")))
            .Select(g => (g.Name, Mean(g, "strategy_memory_samples"), Mean(g, "strategy_memory_bytes"), Mean(g, "strategy_state_bytes"), Mean(g, "strategy_projected_fraction")))
            .ToList();
    }

    private static void StrategyStateHtml(StringBuilder sb, ReportAnalysis a)
    {
        var state = StrategyState(a);
        if (state.Count == 0)
        {
            return;
        }

        sb.Append("<h2>Strategy state</h2><table><tr><th>").Append(E(a.Report.GroupBy)).Append("</th><th>memory samples</th><th>memory</th><th>all state</th><th>projected steps</th></tr>");
        foreach (var (group, samples, memory, all, projected) in state)
        {
            sb.Append(s_inv, $"<tr><td>{E(group)}</td><td>{F(samples, "F0")}</td><td>{Bytes(memory)}</td><td>{Bytes(all)}</td><td>{Percent(projected)}</td></tr>");
        }

        sb.Append("</table><p>").Append(E(StrategyStateNote)).Append("</p>");
    }

    private static string Bytes(double bytes) => !double.IsFinite(bytes) ? "–"
        : bytes >= 1 << 20 ? (bytes / (1 << 20)).ToString("F2", s_inv) + " MiB"
        : bytes >= 1 << 10 ? (bytes / (1 << 10)).ToString("F1", s_inv) + " KiB"
        : bytes.ToString("F0", s_inv) + " B";

    private static string Percent(double share) => double.IsFinite(share) ? (100 * share).ToString("F1", s_inv) + "%" : "–";

    private static void Section(StringBuilder sb, string title, List<(string Name, string Svg)> figures, params string[] prefixes)
    {
        var chosen = prefixes.SelectMany(p => figures.Where(f => f.Name.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (chosen.Count == 0)
        {
            return;
        }

        sb.Append("<h2>").Append(E(title)).Append("</h2><div class=\"figs\">");
        foreach (var (_, svg) in chosen)
        {
            sb.Append("<figure>").Append(svg).Append("</figure>");
        }

        sb.Append("</div>");
    }

    private static string Markdown(ReportAnalysis a, List<(string Name, string Svg)> figures)
    {
        var r = a.Report;
        var sb = new StringBuilder();
        sb.Append(s_inv, $"# {r.SweepName}\n\n{r.Runs.Count} run(s) grouped by {r.GroupBy}; {r.TaskNames.Count} tasks; spec SHA-256 `{r.SpecHash}`.\n\n");
        if (ScenarioText.Describe(r.Runs) is { Length: > 0 } scenario)
        {
            sb.Append("Scenario: ").Append(scenario).Append(".\n\n");
        }

        sb.Append(s_inv, $"**{a.Headline()}**\n\n");
        sb.Append("| ").Append(r.GroupBy).Append(" | runs | ").Append(string.Join(" | ", a.Metrics.Select(m => m.Header))).Append(" |\n|");
        sb.Append(string.Concat(Enumerable.Repeat("---|", a.Metrics.Count + 2))).Append('\n');
        foreach (var g in a.Groups)
        {
            sb.Append("| ").Append(g.Name).Append(" | ").Append(g.Runs.Count.ToString(s_inv)).Append(" | ");
            sb.Append(string.Join(" | ", a.Metrics.Select(m => (a.Best[m.Name] == g.Name ? "**" : "") + Interval(a, g.Name, m.Name) + (a.Best[m.Name] == g.Name ? "**" : "")))).Append(" |\n");
        }

        sb.Append("\nMean ± 95% CI over seeds (t-distribution); ").Append(ForgettingMetrics.ShortConventions).Append('.')
          .Append(r.IsRegression ? " " + RegressionNote : "").Append("\n\n").Append(InitNote(a)).Append("\n\n");
        var state = StrategyState(a);
        if (state.Count > 0)
        {
            sb.Append("## Strategy state\n\n| ").Append(r.GroupBy).Append(" | memory samples | memory | all state | projected steps |\n|---|---|---|---|---|\n");
            foreach (var (group, samples, memory, all, projected) in state)
            {
                sb.Append(s_inv, $"| {group} | {F(samples, "F0")} | {Bytes(memory)} | {Bytes(all)} | {Percent(projected)} |\n");
            }

            sb.Append('\n').Append(StrategyStateNote).Append("\n\n");
        }

        var split = TimeSplit(a);
        if (split.Count > 0)
        {
            sb.Append("## Where the time goes\n\n| ").Append(r.GroupBy).Append(" | wall s | ").Append(string.Join(" | ", s_timeSplitHeaders)).Append(" |\n|---|---|---|---|---|---|---|\n");
            foreach (var (group, wall, parts) in split)
            {
                sb.Append(s_inv, $"| {group} | {F(wall, "F1")} | ").Append(string.Join(" | ", parts.Select(p => TimePart(p, wall)))).Append(" |\n");
            }

            sb.Append('\n').Append(TimeSplitNote).Append("\n\n");
        }

        sb.Append("## Metric conventions\n\n- ").Append(ForgettingMetrics.ScoreMatrixDefinition).Append('\n');
        foreach (string convention in ForgettingMetrics.Conventions)
        {
            sb.Append("- ").Append(convention).Append('\n');
        }

        sb.Append("- ").Append(ForgettingMetrics.OtherLibrariesNote).Append("\n\n## Figures\n\n");
        foreach (var (name, _) in figures)
        {
            sb.Append(s_inv, $"![{name}](figures/{name})\n");
        }

        return sb.ToString();
    }

    private static string RunsCsv(ReportAnalysis a)
    {
        var r = a.Report;
        var metrics = a.Metrics.Select(m => m.Name).ToList();
        var factors = FactorColumns(r);
        var sb = new StringBuilder("run,").Append(string.Join(",", factors.Select(f => Csv(f.Column)))).Append(",seed,status,config_hash,wall_seconds,train_samples_per_s,").Append(string.Join(",", metrics)).Append('\n');
        foreach (var run in r.Runs.OrderBy(x => x.RunId))
        {
            sb.Append(s_inv, $"{run.RunId},{FactorCells(run, factors)},{run.Seed},{Csv(run.Status)},{run.ConfigHash},{R(run.WallSeconds)},{R(run.TrainSamplesPerSecond)},");
            sb.Append(string.Join(",", metrics.Select(m => R(run.Summary.FirstOrDefault(s => s.Name == m)?.Value ?? double.NaN)))).Append('\n');
        }

        return sb.ToString();
    }

    private static string EvaluationsCsv(SweepReport r)
    {
        var factors = FactorColumns(r);
        var sb = new StringBuilder("run,").Append(string.Join(",", factors.Select(f => Csv(f.Column)))).Append(",seed,after_task,epoch,eval_task,metric,value\n");
        foreach (var run in r.Runs.OrderBy(x => x.RunId))
        {
            string cells = FactorCells(run, factors);
            foreach (var e in run.Evaluations)
            {
                sb.Append(s_inv, $"{run.RunId},{cells},{run.Seed},{e.AfterTask},{e.Epoch},{e.EvalTask},{Csv(e.Metric)},{R(e.Value)}\n");
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// One CSV column per field the runs are grouped by (a group "lstm / replay" is two columns, variant and strategy),
    /// so tables load into pandas or R without splitting strings. A column is named by the field's last part
    /// (<c>model.variant</c> → variant, <c>training.optimizer.lr</c> → lr), or the part before it for a <c>kind</c>
    /// (<c>strategy.kind</c> → strategy), or the whole path when two fields would share a name.
    /// </summary>
    private static List<(string Path, string Column)> FactorColumns(SweepReport report)
    {
        var paths = report.Runs.SelectMany(r => r.Factors.Keys).Distinct(StringComparer.Ordinal).ToList();
        if (paths.Count == 0)
        {
            return [("model.variant", "variant")];
        }

        static string Short(string path)
        {
            var parts = path.Split('.');
            return parts.Length > 1 && parts[^1] == "kind" ? parts[^2] : parts[^1];
        }

        var counts = paths.GroupBy(Short, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return paths.Select(p => (p, counts[Short(p)] == 1 ? Short(p) : p)).ToList();
    }

    private static string FactorCells(RunReport run, List<(string Path, string Column)> factors) =>
        string.Join(",", factors.Select(f => Csv(run.Factors.TryGetValue(f.Path, out var v) ? v : f.Path == "model.variant" && run.Factors.Count == 0 ? run.Group : "")));

    private static string R(double v) => double.IsFinite(v) ? v.ToString("R", s_inv) : "";

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
}
