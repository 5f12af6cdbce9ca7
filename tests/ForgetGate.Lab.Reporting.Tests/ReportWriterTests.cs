using System.Globalization;
using System.Text.RegularExpressions;
using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

public sealed partial class ReportWriterTests
{
    private static string SnapshotDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ForgetGate.Lab.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir!.FullName, "tests", "ForgetGate.Lab.Reporting.Tests", "Snapshots");
    }

    private static IReadOnlyDictionary<string, string> RenderUnder(string culture)
    {
        var previous = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = culture.Length == 0 ? CultureInfo.InvariantCulture : new CultureInfo(culture);
            return ReportWriter.Render(SampleReport.Create());
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = previous;
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Render_MatchesSnapshots_UnderAnyCulture(string culture)
    {
        // Snapshots are rewritten with FORGETGATE_UPDATE_SNAPSHOTS=1; a missing snapshot fails.
        var files = RenderUnder(culture);
        string dir = SnapshotDirectory();
        bool update = Environment.GetEnvironmentVariable("FORGETGATE_UPDATE_SNAPSHOTS") == "1";
        foreach (var (name, content) in files)
        {
            string path = Path.Combine(dir, name.Replace('/', '_'));
            if (update && culture.Length == 0)
            {
                File.WriteAllText(path, content);
            }

            Assert.True(File.Exists(path), $"Snapshot {path} is missing; run the tests once with FORGETGATE_UPDATE_SNAPSHOTS=1 and review it.");
            Assert.Equal(File.ReadAllText(path), content);
        }
    }

    [Fact]
    public void Render_GermanCulture_WritesInvariantNumbers()
    {
        var files = RenderUnder("de-DE");
        Assert.Contains("0.", files["runs.csv"], StringComparison.Ordinal);
        Assert.DoesNotMatch(DecimalComma(), files["evaluations.csv"]);
    }

    [Fact]
    public void Render_Html_IsSelfContained()
    {
        string html = ReportWriter.Render(SampleReport.Create())["report.html"];
        // The only URL allowed is the SVG namespace identifier, which is never fetched.
        var urls = Url().Matches(html).Select(m => m.Value).Distinct().ToList();
        Assert.Equal(["http://www.w3.org/2000/svg"], urls);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_EscapesTextFromTheModel()
    {
        string html = ReportWriter.Render(SampleReport.Create("<script>alert(1)</script>"))["report.html"];
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_Headline_NamesTheLeastForgettingVariantAndCiOverlap()
    {
        string md = ReportWriter.Render(SampleReport.Create())["report.md"];
        // gru forgets 0.3 − seed·0.01 (mean 0.285), lstm 0.45 − seed·0.01 (mean 0.435): CIs of ±0.0635 do not overlap.
        Assert.Contains("**gru forgets least: forgetting 0.285 ± 0.064 (95% CI, n = 2)", md, StringComparison.Ordinal);
        Assert.Contains("The intervals do not overlap.", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_EvaluationsCsv_IsLongFormatWithEveryRow()
    {
        var lines = ReportWriter.Render(SampleReport.Create())["evaluations.csv"].TrimEnd('\n').Split('\n');
        Assert.Equal("run,variant,seed,after_task,epoch,eval_task,metric,value", lines[0]);
        Assert.Equal(1 + (4 * (3 + (3 * 2 * 3))), lines.Length); // 4 runs × (baseline row + 3 tasks × 2 epochs) × 3 eval tasks
    }

    [Fact]
    public void Write_CreatesEveryFileAndReturnsTheHtmlPath()
    {
        string dir = Directory.CreateTempSubdirectory("fg-report-").FullName;
        try
        {
            string html = ReportWriter.Write(SampleReport.Create(), dir);
            Assert.Equal(Path.Combine(dir, "report.html"), html);
            foreach (var name in ReportWriter.Render(SampleReport.Create()).Keys)
            {
                Assert.True(File.Exists(Path.Combine(dir, name)), name);
            }

            Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Render_MixedInits_NamesEachGroupsInitInHtmlAndMarkdownAndEachRun()
    {
        // Issue 13: a reader must see which init every variant used. The sample's groups are lstm and gru; make gru's
        // runs linear (as a stored config has it) and leave lstm's without the field (rnn, as every earlier run).
        var sample = SampleReport.Create();
        var runs = sample.Runs.Select(r => r.Group == "gru"
            ? r with { ConfigJson = r.ConfigJson.Replace("{\"variant\"", "{\"init\":\"linear\",\"variant\"", StringComparison.Ordinal) }
            : r).ToList();
        var files = ReportWriter.Render(sample with { Runs = runs });
        foreach (string file in new[] { "report.html", "report.md" })
        {
            Assert.Contains("Initialisation (model.init) per variant: gru: linear; lstm: rnn.", files[file], StringComparison.Ordinal);
            Assert.Contains("U(−1/√D, 1/√D)", files[file], StringComparison.Ordinal);
        }

        Assert.Contains("gru seed 1, init linear,", files["report.html"], StringComparison.Ordinal);
        Assert.Contains("lstm seed 1, init rnn,", files["report.html"], StringComparison.Ordinal);
        Assert.Contains("every run uses rnn", ReportWriter.Render(sample)["report.md"], StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MetricConventions_AreForgettingMetricsOwn()
    {
        // One source: the conventions the code that computes the metrics carries, not a second copy in prose.
        var files = ReportWriter.Render(SampleReport.Create());
        foreach (string convention in ForgettingMetrics.Conventions.Append(ForgettingMetrics.ScoreMatrixDefinition))
        {
            Assert.Contains(System.Net.WebUtility.HtmlEncode(convention), files["report.html"], StringComparison.Ordinal);
            Assert.Contains(convention, files["report.md"], StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"\d,\d{2,}")]
    private static partial Regex DecimalComma();

    [GeneratedRegex("https?://[^\"'\\s)>]+")]
    private static partial Regex Url();
}
