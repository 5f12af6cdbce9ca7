using System.Globalization;
using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>The console comparison (<c>run</c>, <c>compare</c>) against the report's own table, for classification and regression sweeps.</summary>
public sealed class ComparisonTextTests
{
    /// <summary>
    /// A drift (regression) sweep: lstm's final MSE is 0.20 and 0.22 over its two seeds, gru's 0.10 and 0.12; summaries are
    /// stored on −MSE scores as the runner writes them (acc = −final MSE, bwt = −ΔMSE, forgetting an MSE increase).
    /// </summary>
    private static SweepReport Regression()
    {
        var runs = new List<RunReport>();
        long id = 1;
        foreach (var (group, mse) in new[] { ("lstm", 0.20), ("gru", 0.10) })
        {
            foreach (long seed in new long[] { 1, 2 })
            {
                double final = mse + ((seed - 1) * 0.02);
                var evals = new List<EvaluationPoint>();
                for (int i = 0; i <= 2; i++)
                {
                    for (int j = 0; j < 2; j++)
                    {
                        double e = i == 0 ? 1.0 : j < i ? final : 0.5;
                        evals.Add(new(i, i == 0 ? 0 : 1, j, "mse", e));
                        evals.Add(new(i, i == 0 ? 0 : 1, j, "score", -e));
                    }
                }

                var summary = new List<SummaryMetric>
                {
                    new("acc", "ACC", -final), new("bwt", "BWT", -(final - 0.05)), new("fwt", "FWT", 0.5),
                    new("forgetting", "Chaudhry", final - 0.05), new("learning_accuracy", "LA", -0.05), new("final_mse", "mean final MSE", final),
                };
                runs.Add(new RunReport(
                    id++, group, seed, new Dictionary<string, string> { ["model.variant"] = group }, "succeeded", "{}", new string('a', 64), "0.1.0",
                    "", new Dictionary<string, string>(), 1, 1000, evals, summary, [], []));
            }
        }

        return new SweepReport("drift", new string('c', 64), new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero), true, ["T1", "T2"], "variant", runs);
    }

    private static string Row(string text, string group) => text.Split('\n').Single(l => l.StartsWith(group + " ", StringComparison.Ordinal));

    [Fact]
    public void Of_RegressionSweep_PrintsMseLowerIsBetterNotScores()
    {
        string text = ComparisonText.Of(Regression());

        Assert.StartsWith("variant", text, StringComparison.Ordinal);
        Assert.Contains("Final MSE ↓", text, StringComparison.Ordinal);
        Assert.Contains("Learning MSE ↓", text, StringComparison.Ordinal);
        Assert.Contains("BWT (ΔMSE) ↓", text, StringComparison.Ordinal);
        Assert.Contains("Forgetting (MSE) ↓", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ACC", text.Split('\n')[0], StringComparison.Ordinal);
        Assert.Contains("lower is better", text, StringComparison.Ordinal);
        Assert.DoesNotContain("-0.2100", text, StringComparison.Ordinal); // lstm's ACC on −MSE scores
        Assert.Contains("-0.5000 ± 0.0000", Row(text, "gru"), StringComparison.Ordinal); // FWT (ΔMSE): training task 1 lowered task 2's MSE by 0.5

        // gru's mean final MSE 0.11 beats lstm's 0.21: the lower one is marked best.
        Assert.Matches(@"^gru\s+2\s+0\.1100 ± 0\.1271 \*", Row(text, "gru"));
        Assert.Matches(@"^lstm\s+2\s+0\.2100 ± 0\.1271\s", Row(text, "lstm"));
        Assert.DoesNotContain("*", Row(text, "lstm"), StringComparison.Ordinal);
    }

    [Fact]
    public void Of_RegressionSweep_AgreesWithTheHtmlReportsTable()
    {
        var report = Regression();
        string html = ReportWriter.Render(report)["report.html"];
        string text = ComparisonText.Of(report);

        string headers = string.Join("", "Final MSE ↓|BWT (ΔMSE) ↓|FWT (ΔMSE) ↓|Forgetting (MSE) ↓|Learning MSE ↓".Split('|').Select(h => $"<th>{h}</th>"));
        Assert.Contains($"<th>variant</th><th>runs</th>{headers}<th>train samples/s</th>", html, StringComparison.Ordinal);
        // (The report HTML-encodes ± as &#177;.)
        Assert.Contains("<tr><td>gru</td><td>2</td><td class=\"best\">0.110 &#177; 0.127</td>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>lstm</td><td>2</td><td>0.210 &#177; 0.127</td>", html, StringComparison.Ordinal);
        Assert.Contains(ReportWriter.RegressionNote, text, StringComparison.Ordinal);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(ReportWriter.RegressionNote), html, StringComparison.Ordinal);

        // Every cell of the text is the HTML's cell at one more decimal.
        foreach (string group in new[] { "gru", "lstm" })
        {
            var textMeans = System.Text.RegularExpressions.Regex.Matches(Row(text, group), @"(-?\d+\.\d{4}) ±").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            int start = html.IndexOf($"<tr><td>{group}</td>", StringComparison.Ordinal);
            string htmlRow = html[start..html.IndexOf("</tr>", start, StringComparison.Ordinal)];
            var htmlMeans = System.Text.RegularExpressions.Regex.Matches(htmlRow, @">(-?\d+\.\d{3}) &#177;").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(5, textMeans.Count);
            Assert.Equal(htmlMeans, textMeans.Select(v => Math.Round(v, 3, MidpointRounding.AwayFromZero)));
        }
    }

    [Fact]
    public void Of_ClassificationSweep_PrintsScoresHigherIsBetterExceptForgetting()
    {
        string text = ComparisonText.Of(SampleReport.Create());

        Assert.Matches(@"^variant\s+runs\s+ACC ↑\s+BWT ↑\s+FWT ↑\s+Forgetting ↓\s+Learning acc\. ↑", text);
        Assert.DoesNotContain("MSE", text, StringComparison.Ordinal);
        // gru drops 0.2 per task, lstm 0.3: gru has the higher ACC and the lower forgetting, both marked.
        Assert.Matches(@"^gru\s+2\s+0\.4150 ± 0\.0635 \*", Row(text, "gru"));
        Assert.Matches(@"^lstm\s+2\s+0\.3150 ± 0\.0635\s", Row(text, "lstm"));
    }

    [Fact]
    public void Of_TwoSweeps_DifferencesOfShownValuesAndMixedKindsRefused()
    {
        var a = Regression();
        var b = a with { SweepName = "drift-2", Runs = [.. a.Runs.Select(r => r with { Summary = [.. r.Summary.Select(s => s.Name == "acc" ? s with { Value = s.Value + 0.01 } : s)] })] };

        string text = ComparisonText.Of(a, b);

        // B's final MSE is 0.01 lower: the difference of MSE, not of scores.
        Assert.Matches(@"gru\s+Final MSE ↓\s+0\.1100 ± 0\.1271\s+0\.1000 ± 0\.1271\s+-0\.0100", text);
        var error = Assert.Throws<ArgumentException>(() => ComparisonText.Of(a, SampleReport.Create()));
        Assert.Contains("'drift' is a regression sweep and 'sample-sweep' a classification one", error.Message, StringComparison.Ordinal);
    }
}
