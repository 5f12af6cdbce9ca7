using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>The report's table of what each strategy keeps (buffer or memory in samples and bytes, state, projections).</summary>
public sealed class StrategyStateTests
{
    private static SweepReport WithStrategyRows()
    {
        var report = SampleReport.Create(firstGroup: "agem / lstm");
        var runs = report.Runs.Select(r => r.Group != "agem / lstm" ? r : r with
        {
            Summary =
            [
                .. r.Summary,
                new SummaryMetric("strategy_memory_samples", "", 768),
                new SummaryMetric("strategy_memory_bytes", "", 768 * 8),
                new SummaryMetric("strategy_state_bytes", "", (768 * 8) + (2 * 4 * 1024 * 1024)),
                new SummaryMetric("strategy_projected_fraction", "", r.Seed == 1 ? 0.1 : 0.15),
            ],
        }).ToList();
        return report with { Runs = runs, GroupBy = "kind / variant" };
    }

    [Fact]
    public void Render_StrategyWithMemory_ShowsSamplesBytesAndProjectedShareInHtmlAndMarkdown()
    {
        var files = ReportWriter.Render(WithStrategyRows());
        string html = files["report.html"];
        Assert.Contains("<h2>Strategy state</h2>", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>agem / lstm</td><td>768</td><td>6.0 KiB</td><td>8.01 MiB</td><td>12.5%</td></tr>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<tr><td>gru</td><td>", html[html.IndexOf("Strategy state", StringComparison.Ordinal)..], StringComparison.Ordinal); // naive-like groups keep nothing
        Assert.Contains("| agem / lstm | 768 | 6.0 KiB | 8.01 MiB | 12.5% |", files["report.md"], StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NoStrategyState_HasNoStrategySection()
    {
        var files = ReportWriter.Render(SampleReport.Create());
        Assert.DoesNotContain("Strategy state", files["report.html"], StringComparison.Ordinal);
        Assert.DoesNotContain("Strategy state", files["report.md"], StringComparison.Ordinal);
    }
}
