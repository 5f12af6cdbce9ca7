using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>The report's "where the time goes" table: each group's mean wall time split into its parts.</summary>
public sealed class TimeSplitReportTests
{
    [Fact]
    public void Render_RunsWithATimeSplit_ShowMeanPartsPerGroupInHtmlAndMarkdown()
    {
        var report = SampleReport.Create();
        string first = report.Runs[0].Group;
        var runs = report.Runs.Select(r => r.Group != first ? r : r with
        {
            WallSeconds = 10,
            Summary =
            [
                .. r.Summary,
                new SummaryMetric("time_data_s", "", 1),
                new SummaryMetric("time_train_s", "", r.Seed == 1 ? 3 : 5),
                new SummaryMetric("time_eval_s", "", 4),
                new SummaryMetric("time_checkpoint_s", "", 0.5),
                new SummaryMetric("time_store_s", "", 0.5),
            ],
        }).ToList();
        var files = ReportWriter.Render(report with { Runs = runs });
        string html = files["report.html"];
        Assert.Contains("<h2>Where the time goes</h2>", html, StringComparison.Ordinal);
        string means = runs.Count(r => r.Group == first) == 1 ? "3.00 (30%)" : "4.00 (40%)";
        Assert.Contains($"<tr><td>{first}</td><td>10.0</td><td>1.00 (10%)</td><td>{means}</td><td>4.00 (40%)</td><td>0.50 (5%)</td><td>0.50 (5%)</td></tr>", html, StringComparison.Ordinal);
        Assert.Contains($"| {first} | 10.0 | 1.00 (10%) | {means} | 4.00 (40%) | 0.50 (5%) | 0.50 (5%) |", files["report.md"], StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NoTimeSplit_HasNoSection()
    {
        var files = ReportWriter.Render(SampleReport.Create());
        Assert.DoesNotContain("Where the time goes", files["report.html"], StringComparison.Ordinal);
        Assert.DoesNotContain("Where the time goes", files["report.md"], StringComparison.Ordinal);
    }
}
