using System.Globalization;
using System.Text;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting.Tests.TensorBoard;
using Xunit.Abstractions;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>The report's gates-through-time figures, and the report's size for a 100-run sweep.</summary>
public sealed class GateFiguresTests(ITestOutputHelper output)
{
    /// <summary>
    /// The size budget of a 100-run sweep's report.html (5 variants × 20 seeds, 5 tasks × 2 epochs evaluated per epoch,
    /// 28 steps, 128 units, 2 layers, 1,000 batches a run): 1 MiB in all (measured: 194 KiB), of which the gates-through-time figures at most
    /// 128 KiB (measured: 64 KiB). Their cost grows with variants, not runs: one heatmap per variant, cells as PNG pixels.
    /// </summary>
    private const int ReportBudget = 1 << 20, GateFigureBudget = 128 << 10;

    [Fact]
    public void Render_SampleWithGateSteps_DrawsTaskStepAndUnitStepHeatmapsAndSmallMultiples()
    {
        var report = TensorBoardExportTests.WithGatesAndCurves(SampleReport.Create());
        var files = ReportWriter.Render(report);
        Assert.Contains("figures/gate-steps-0.svg", files.Keys);
        Assert.Contains("figures/gate-steps-1.svg", files.Keys);
        Assert.Contains("figures/gate-units-0.svg", files.Keys);
        Assert.Contains("figures/gate-variants.svg", files.Keys);
        string html = files["report.html"];
        Assert.Contains("<h2>Forget gates through time</h2>", html, StringComparison.Ordinal);
        // Four rows (untrained, after T1..T3), labelled; a PNG of steps × rows pixels.
        string steps = files["figures/gate-steps-0.svg"];
        foreach (string label in new[] { "untrained", "after T1", "after T2", "after T3" })
        {
            Assert.Contains(">" + label + "<", steps, StringComparison.Ordinal);
        }

        var png = Convert.FromBase64String(steps.Split("base64,")[1].Split('"')[0]);
        Assert.Equal((5, 4), (ReadInt(png, 16), ReadInt(png, 20)));
        string units = files["figures/gate-units-0.svg"];
        Assert.Matches(@"on one T3 sample after the last task \(run [13], layer 0\)", units); // the group's lowest seed
        png = Convert.FromBase64String(units.Split("base64,")[1].Split('"')[0]);
        Assert.Equal((5, 4), (ReadInt(png, 16), ReadInt(png, 20))); // 5 steps × 4 units
        // Small multiples: one panel per variant, one line per row of the task × step heatmap.
        string multiples = files["figures/gate-variants.svg"];
        Assert.Equal(2 * 4, multiples.Split("<polyline", StringSplitOptions.None).Length - 1);

        // Without gate rows (runs recorded before them) the section is simply absent.
        Assert.DoesNotContain("Forget gates through time", ReportWriter.Render(SampleReport.Create())["report.html"], StringComparison.Ordinal);
    }

    [Fact]
    public void Render_HundredRunSweep_StaysWithinTheSizeBudget()
    {
        var report = HundredRuns();
        var files = ReportWriter.Render(report);
        long html = Encoding.UTF8.GetByteCount(files["report.html"]);
        long gates = files.Where(f => f.Key.StartsWith("figures/gate-", StringComparison.Ordinal)).Sum(f => (long)Encoding.UTF8.GetByteCount(f.Value));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"report.html {html / 1024.0:F0} KiB for {report.Runs.Count} runs; gates-through-time figures {gates / 1024.0:F0} KiB"));
        Assert.Equal(100, report.Runs.Count);
        Assert.Equal(11, files.Count(f => f.Key.StartsWith("figures/gate-", StringComparison.Ordinal)));
        Assert.True(gates <= GateFigureBudget, $"gate figures {gates} bytes > {GateFigureBudget}");
        Assert.True(html <= ReportBudget, $"report.html {html} bytes > {ReportBudget}");
    }

    private static int ReadInt(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];

    private static SweepReport HundredRuns()
    {
        const int tasks = 5, epochs = 2, steps = 28, units = 128, layers = 2;
        // One matrix and one set of means shared by every row: the test measures the report, not its own memory.
        var matrix = Enumerable.Range(0, units * steps).Select(i => (float)(0.5 + (0.45 * Math.Sin(i * 0.37)))).ToArray();
        var spread = new GateSpread(1000, 0.01, 0.99, 500, 300, [.. Enumerable.Repeat(50L, 20)]);
        var runs = new List<RunReport>();
        string[] variants = ["lstm", "lstm-fb1", "cifg", "gru", "ur-lstm"];
        long id = 1;
        foreach (string variant in variants)
        {
            for (int seed = 1; seed <= 20; seed++)
            {
                var evals = new List<EvaluationPoint>();
                var gates = new List<GateStepRow>();
                for (int after = 0; after <= tasks; after++)
                {
                    foreach (int epoch in after == 0 ? [0] : Enumerable.Range(1, epochs))
                    {
                        for (int j = 0; j < tasks; j++)
                        {
                            evals.Add(new EvaluationPoint(after, epoch, j, "accuracy", 0.1 + (0.15 * Math.Max(0, after - j)) + (0.001 * seed)));
                            for (int layer = 0; layer < layers; layer++)
                            {
                                var means = Enumerable.Range(0, steps).Select(t => 0.3 + (0.02 * t) - (0.03 * after) + (0.01 * seed)).ToArray();
                                gates.Add(new GateStepRow(after, epoch, layer, j, 256, steps, units, means, 0, matrix, spread));
                            }
                        }
                    }
                }

                var summary = new List<SummaryMetric> { new("acc", "ACC", 0.5), new("bwt", "BWT", -0.2), new("fwt", "FWT", 0.0), new("forgetting", "F", 0.2), new("learning_accuracy", "LA", 0.8) };
                var loss = Enumerable.Range(0, tasks * epochs * 100).Select(k => new LossPoint((k / 200) + 1, (k / 100 % 2) + 1, k % 100, 2.0 / (1 + k))).ToList();
                runs.Add(new RunReport(id++, variant, seed, new Dictionary<string, string> { ["model.variant"] = variant }, "succeeded",
                    $$"""{"model":{"hidden":128,"layers":2,"variant":"{{variant}}"},"scenario":{"kind":"permuted","tasks":5},"seed":{{seed}}}""", new string('a', 64), "0.1.0+abc1234",
                    new string('f', 64), new Dictionary<string, string> { ["cpu"] = "Test CPU" }, 100, 3000, evals, summary, [], loss, GateSteps: gates));
            }
        }

        return new SweepReport("hundred", new string('c', 64), DateTimeOffset.UnixEpoch, false, [.. Enumerable.Range(1, tasks).Select(t => "T" + t.ToString(CultureInfo.InvariantCulture))], "variant", runs);
    }
}
