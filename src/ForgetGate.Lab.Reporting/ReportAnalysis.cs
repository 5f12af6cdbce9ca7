using ForgetGate.Lab.Core.Metrics;

namespace ForgetGate.Lab.Reporting;

/// <summary>What the renderers show, computed once from the model: per-group matrices, curves and metric intervals.</summary>
internal sealed class ReportAnalysis
{
    /// <summary>
    /// The metrics shown, with their label and direction. Stored summaries are computed on scores (accuracy, or −MSE
    /// for regression), so higher is better everywhere; a regression sweep shows them in MSE instead (value × −1, lower
    /// is better), except forgetting and intransigence, which are differences already in MSE units.
    /// </summary>
    public IReadOnlyList<MetricView> Metrics { get; }

    public ReportAnalysis(SweepReport report)
    {
        Report = report;
        Metrics = MetricViews(report);
        ScoreMetric = report.IsRegression ? "score" : "accuracy";
        Groups = report.Runs.Where(r => r.Status == "succeeded").GroupBy(r => r.Group).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Group(g.Key, g.OrderBy(r => r.Seed).ThenBy(r => r.RunId).ToList())).ToList();
        Tasks = report.TaskNames.Count;
        Intervals = Groups.ToDictionary(g => g.Name, g => Metrics.ToDictionary(m => m.Name, m => MeanInterval.Of(g.Runs.Select(r => m.Shown(r))), StringComparer.Ordinal), StringComparer.Ordinal);
        Best = Metrics.ToDictionary(m => m.Name, m =>
        {
            var candidates = Groups.Where(g => double.IsFinite(Intervals[g.Name][m.Name].Mean)).ToList();
            return candidates.Count == 0 ? null
                : (m.HigherIsBetter ? candidates.MaxBy(g => Intervals[g.Name][m.Name].Mean) : candidates.MinBy(g => Intervals[g.Name][m.Name].Mean))!.Name;
        }, StringComparer.Ordinal);
    }

    /// <summary>The metrics a report of <paramref name="report"/> shows; intransigence joins them when a run has a cumulative counterpart.</summary>
    public static IReadOnlyList<MetricView> MetricViews(SweepReport report)
    {
        bool intransigence = report.Runs.Any(r => r.Summary.Any(m => m.Name == "intransigence"));
        IEnumerable<MetricView> core = report.IsRegression
            ?
            [
                new("acc", "Final MSE", false, -1), new("bwt", "BWT (ΔMSE)", false, -1), new("fwt", "FWT (ΔMSE)", false, -1),
                new("forgetting", "Forgetting (MSE)", false, 1), new("learning_accuracy", "Learning MSE", false, -1),
            ]
            :
            [
                new("acc", "ACC", true, 1), new("bwt", "BWT", true, 1), new("fwt", "FWT", true, 1),
                new("forgetting", "Forgetting", false, 1), new("learning_accuracy", "Learning acc.", true, 1),
            ];
        return intransigence ? [.. core, new("intransigence", report.IsRegression ? "Intransigence (MSE)" : "Intransigence", false, 1)] : [.. core];
    }

    public SweepReport Report { get; }

    public string ScoreMetric { get; }

    public IReadOnlyList<Group> Groups { get; }

    public int Tasks { get; }

    public IReadOnlyDictionary<string, Dictionary<string, MeanInterval>> Intervals { get; }

    public IReadOnlyDictionary<string, string?> Best { get; }

    /// <summary>Displayed value: MSE (= −score) for regression, the score itself for classification.</summary>
    public double Display(double score) => Report.IsRegression ? -score : score;

    /// <summary>Mean over the group's runs of R[i][j] at each task's last epoch (row 0 untrained).</summary>
    public double[,] MeanMatrix(Group g)
    {
        var m = new double[Tasks + 1, Tasks];
        for (int i = 0; i <= Tasks; i++)
        {
            for (int j = 0; j < Tasks; j++)
            {
                var values = g.Runs.Select(r => Cell(r, i, j)).Where(double.IsFinite).ToList();
                m[i, j] = values.Count == 0 ? double.NaN : Display(values.Average());
            }
        }

        return m;
    }

    private double Cell(RunReport run, int afterTask, int evalTask)
    {
        var points = run.Evaluations.Where(e => e.Metric == ScoreMetric && e.AfterTask == afterTask && e.EvalTask == evalTask).ToList();
        return points.Count == 0 ? double.NaN : points.MaxBy(p => p.Epoch)!.Value;
    }

    /// <summary>Positions along training: (0,0) untrained, then (task, epoch) for every evaluated epoch.</summary>
    public IReadOnlyList<(int AfterTask, int Epoch)> Positions(Group g) =>
        g.Runs.SelectMany(r => r.Evaluations).Where(e => e.Metric == ScoreMetric).Select(e => (e.AfterTask, e.Epoch)).Distinct()
            .OrderBy(p => p.AfterTask).ThenBy(p => p.Epoch).ToList();

    /// <summary>Per eval task: mean, min and max over seeds at every position.</summary>
    public IReadOnlyList<(string Name, double[] Mean, double[] Low, double[] High)> Curves(Group g, IReadOnlyList<(int AfterTask, int Epoch)> positions)
    {
        var result = new List<(string, double[], double[], double[])>();
        for (int j = 0; j < Tasks; j++)
        {
            var mean = new double[positions.Count];
            var low = new double[positions.Count];
            var high = new double[positions.Count];
            for (int p = 0; p < positions.Count; p++)
            {
                var (a, e) = positions[p];
                var values = g.Runs.SelectMany(r => r.Evaluations.Where(x => x.Metric == ScoreMetric && x.AfterTask == a && x.Epoch == e && x.EvalTask == j)).Select(x => Display(x.Value)).ToList();
                mean[p] = values.Count == 0 ? double.NaN : values.Average();
                low[p] = values.Count == 0 ? double.NaN : values.Min();
                high[p] = values.Count == 0 ? double.NaN : values.Max();
            }

            result.Add((Report.TaskNames[j], mean, low, high));
        }

        return result;
    }

    /// <summary>One sentence answering "which design forgets least, and how sure are we?".</summary>
    public string Headline()
    {
        var ranked = Groups.Select(g => (g.Name, Ci: Intervals[g.Name]["forgetting"])).Where(x => double.IsFinite(x.Ci.Mean)).OrderBy(x => x.Ci.Mean).ToList();
        if (ranked.Count == 0)
        {
            return "No finished run with two or more tasks yet, so forgetting cannot be compared.";
        }

        var best = ranked[0];
        string head = $"{best.Name} forgets least: forgetting {Svg.F(best.Ci.Mean)}" + (double.IsFinite(best.Ci.HalfWidth) ? $" ± {Svg.F(best.Ci.HalfWidth)} (95% CI, n = {best.Ci.Count})" : $" (n = {best.Ci.Count}, no CI)");
        if (ranked.Count < 2)
        {
            return head + ".";
        }

        var next = ranked[1];
        if (!double.IsFinite(best.Ci.HalfWidth) || !double.IsFinite(next.Ci.HalfWidth))
        {
            return head + $"; runner-up {next.Name} at {Svg.F(next.Ci.Mean)}. More seeds are needed for confidence intervals.";
        }

        bool overlap = best.Ci.High >= next.Ci.Low;
        return head + $"; runner-up {next.Name} at {Svg.F(next.Ci.Mean)} ± {Svg.F(next.Ci.HalfWidth)}. " +
            (overlap ? "The intervals overlap: the difference is not established at this number of seeds." : "The intervals do not overlap.");
    }

    internal sealed record Group(string Name, IReadOnlyList<RunReport> Runs);
}

/// <summary>How a stored summary metric is shown: its label, which direction is better, and the factor applied to the stored value.</summary>
/// <param name="Name">Stored metric name (run_summaries.metric).</param>
/// <param name="Label">Column label.</param>
/// <param name="HigherIsBetter">Direction of the shown value.</param>
/// <param name="Sign">Shown value = Sign × stored value (−1 turns a −MSE score metric into MSE).</param>
internal sealed record MetricView(string Name, string Label, bool HigherIsBetter, double Sign)
{
    /// <summary>The label with its direction: "ACC ↑", "Final MSE ↓".</summary>
    public string Header => Label + (HigherIsBetter ? " ↑" : " ↓");

    /// <summary>The shown value of a run (NaN when it has none).</summary>
    public double Shown(RunReport run) => Sign * (run.Summary.FirstOrDefault(s => s.Name == Name)?.Value ?? double.NaN);
}
