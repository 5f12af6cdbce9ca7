using System.Buffers.Binary;
using System.Globalization;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Reporting.TensorBoard;

namespace ForgetGate.Lab.Reporting.Tests.TensorBoard;

/// <summary>Our export read back through our reader: every series, step and value as the report model holds them.</summary>
public sealed class TensorBoardExportTests
{
    /// <summary>Gate rows from known per-step values: gate(t, b, u) = (t + 1) / (steps + 1) shifted by task and unit.</summary>
    internal static List<GateStepRow> GateRows(int tasks, int epochs, int layers, int steps = 5, int batch = 3, int units = 4)
    {
        var rows = new List<GateStepRow>();
        var gates = new float[steps * batch * units];
        for (int after = 0; after <= tasks; after++)
        {
            foreach (int epoch in after == 0 ? [0] : Enumerable.Range(1, epochs))
            {
                for (int layer = 0; layer < layers; layer++)
                {
                    for (int task = 0; task < tasks; task++)
                    {
                        for (int i = 0; i < gates.Length; i++)
                        {
                            int t = i / (batch * units), u = i % units;
                            gates[i] = Math.Clamp(((t + 1f) / (steps + 1)) - (0.05f * after) + (0.01f * (u + task + layer + epoch)), 0f, 1f);
                        }

                        rows.Add(GateSteps.Summarise(after, epoch, layer, task, gates, steps, batch, units));
                    }
                }
            }
        }

        return rows;
    }

    internal static SweepReport WithGatesAndCurves(SweepReport report) => report with
    {
        Runs = [.. report.Runs.Select(r => r with
        {
            // 3 tasks × 2 epochs × 4 batches of training, so evaluation (i, e) lies at step 8(i−1) + 4e.
            Loss = [.. from t in Enumerable.Range(1, 3) from e in Enumerable.Range(1, 2) from b in Enumerable.Range(0, 4) select new LossPoint(t, e, b, 2.0 / (t + e + b))],
            GateSteps = GateRows(tasks: 3, epochs: 2, layers: 2),
            StartedAt = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).AddMinutes(r.RunId),
        })],
    };

    [Fact]
    public void Write_SampleSweep_ReadsBackEverySeriesAtItsStep()
    {
        var report = WithGatesAndCurves(SampleReport.Create());
        string dir = Directory.CreateTempSubdirectory("fg-tb-").FullName;
        try
        {
            var folders = TensorBoardExport.Write(report, dir);
            Assert.Equal(["1-lstm-seed1", "2-lstm-seed2", "3-gru-seed1", "4-gru-seed2"], folders.Select(Path.GetFileName));
            foreach (var run in report.Runs)
            {
                var view = TensorBoardFiles.ReadRun(Path.Combine(dir, TensorBoardExport.RunFolderName(run)));
                double wall = run.StartedAt!.Value.ToUnixTimeSeconds();

                // Evaluations: one series per task and metric, at training steps so far, float values.
                foreach (var series in run.Evaluations.GroupBy(e => (e.EvalTask, e.Metric)))
                {
                    var points = view.Scalars[string.Create(CultureInfo.InvariantCulture, $"eval/T{series.Key.EvalTask + 1}/{series.Key.Metric}")];
                    Assert.Equal(series.Select(e => e.AfterTask == 0 ? 0L : (8 * (e.AfterTask - 1)) + (4 * e.Epoch)), points.Select(p => p.Step));
                    Assert.Equal(series.Select(e => (double)(float)e.Value), points.Select(p => p.Value));
                    Assert.All(points, p => Assert.Equal(wall, p.WallTime));
                }

                Assert.Equal(Enumerable.Range(1, 24).Select(k => (long)k), view.Scalars["train/loss"].Select(p => p.Step));
                Assert.Equal(run.Loss.Select(l => (double)(float)l.Loss), view.Scalars["train/loss"].Select(p => p.Value));
                foreach (var m in run.Summary)
                {
                    var p = Assert.Single(view.Scalars["summary/" + m.Name]);
                    Assert.Equal((24L, (double)(float)m.Value), (p.Step, p.Value));
                }

                // Histograms per layer and task at every evaluation (untrained, then each epoch), exact spread.
                foreach (var series in run.GateStepRows.GroupBy(g => (g.Layer, g.EvalTask)))
                {
                    var points = view.Histograms[string.Create(CultureInfo.InvariantCulture, $"forget_gate/layer{series.Key.Layer}/T{series.Key.EvalTask + 1}")];
                    Assert.Equal(7, points.Count);
                    foreach (var (g, p) in series.Zip(points))
                    {
                        Assert.Equal(g.AfterTask == 0 ? 0L : (8 * (g.AfterTask - 1)) + (4 * g.Epoch), p.Step);
                        Assert.Equal((g.Spread.Min, g.Spread.Max, (double)g.Spread.Count, g.Spread.Sum, g.Spread.SumSquares), (p.Histogram.Min, p.Histogram.Max, p.Histogram.Num, p.Histogram.Sum, p.Histogram.SumSquares));
                        Assert.Equal(g.Spread.Count, (long)p.Histogram.Bucket.Sum());
                    }
                }

                // Per-step means: an image (one 12-pixel band per task) and the numbers, for each layer at every evaluation.
                foreach (int layer in new[] { 0, 1 })
                {
                    var images = view.Images[string.Create(CultureInfo.InvariantCulture, $"forget_gate_steps/layer{layer}")];
                    Assert.Equal(7, images.Count);
                    var image = images[^1].Image;
                    Assert.Equal((3 * 12, 5 * 8, 3), (image.Height, image.Width, image.Colorspace));
                    Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], image.EncodedPng[..4]);
                    Assert.Equal(image.Width, BinaryPrimitives.ReadInt32BigEndian(image.EncodedPng.AsSpan(16)));
                    var table = view.Texts[string.Create(CultureInfo.InvariantCulture, $"forget_gate_steps/layer{layer}/text_summary")][^1].Text;
                    var last = run.GateStepRows.Where(g => g.Layer == layer && g.AfterTask == 3 && g.Epoch == 2).OrderBy(g => g.EvalTask).ToList();
                    Assert.Contains("T2," + string.Join(",", last[1].StepMeans.Select(v => v.ToString("F4", CultureInfo.InvariantCulture))), table, StringComparison.Ordinal);
                }

                var config = Assert.Single(view.Texts["config/text_summary"]);
                Assert.Equal(0, config.Step);
                Assert.Contains("\"variant\": \"" + run.Group + "\"", config.Text, StringComparison.Ordinal);
            }

            // Exporting again replaces the files instead of adding a second copy TensorBoard would read too.
            TensorBoardExport.Write(report, dir);
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "1-lstm-seed1")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Summarise_KnownGates_MeansMatrixAndSpread()
    {
        var row = GateRows(tasks: 1, epochs: 1, layers: 1, steps: 5, batch: 3, units: 4)[0];
        Assert.Equal((5, 4, 3, 60L), (row.Steps, row.Units, row.ProbeCount, row.Spread.Count));
        for (int t = 0; t < 5; t++)
        {
            // Mean over units u = 0..3 of (t+1)/6 + 0.01u, computed in float then averaged in double.
            double expected = Enumerable.Range(0, 4).Average(u => (double)Math.Clamp(((t + 1f) / 6) + (0.01f * u), 0f, 1f));
            Assert.Equal(expected, row.StepMeans[t], 12);
            for (int u = 0; u < 4; u++)
            {
                Assert.Equal(Math.Clamp(((t + 1f) / 6) + (0.01f * u), 0f, 1f), row.SampleGates[(u * 5) + t]);
            }
        }

        Assert.Equal(60, row.Spread.Counts.Sum());
        Assert.Equal((double)(1f / 6), row.Spread.Min, 7);
    }
}
