using System.Globalization;
using System.Text;
using System.Text.Json;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>
/// <c>export SWEEP --format tensorboard</c> (DESIGN.md §12): one folder per run, <c>&lt;run-id&gt;-&lt;variant&gt;-seed&lt;k&gt;</c>,
/// holding one event file. Step = training steps (batches) so far, counted from the run's stored training curve, so
/// evaluations, losses and gates line up on TensorBoard's step axis.
/// <list type="bullet">
/// <item><c>eval/T&lt;j&gt;/&lt;metric&gt;</c>: every stored evaluation (accuracy, or mse and score), per epoch too;</item>
/// <item><c>train/loss</c>: every batch's loss;</item>
/// <item><c>summary/&lt;metric&gt;</c>: the run's summary metrics at its last step;</item>
/// <item><c>forget_gate/layer&lt;k&gt;/T&lt;j&gt;</c>: histograms of the effective forget gate on task j's probe batch at every evaluation;</item>
/// <item><c>forget_gate_steps/layer&lt;k&gt;</c>: the mean gate per time step as an image (rows: tasks, columns: steps) and as a CSV text;</item>
/// <item><c>config</c>: the resolved config as text.</item>
/// </list>
/// Every event's wall time is the run's start: the store keeps no time per row, and a constant says so rather than invents one.
/// </summary>
public static class TensorBoardExport
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>Writes every run of <paramref name="report"/> under <paramref name="outputDirectory"/>; returns the run folders.</summary>
    public static IReadOnlyList<string> Write(SweepReport report, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var folders = new List<string>();
        foreach (var run in report.Runs.OrderBy(r => r.RunId))
        {
            string folder = Path.Combine(outputDirectory, RunFolderName(run));
            Directory.CreateDirectory(folder);
            foreach (string old in Directory.GetFiles(folder, "events.out.tfevents.*.forgetgate"))
            {
                File.Delete(old); // an earlier export of this run: TensorBoard would read both
            }

            double wall = WallTime(run);
            string name = string.Create(s_inv, $"events.out.tfevents.{(long)wall:D10}.forgetgate");
            AtomicFile.Write(Path.Combine(folder, name), TensorBoardFiles.Encode(wall, Events(run)));
            folders.Add(folder);
        }

        return folders;
    }

    /// <summary><c>&lt;run-id&gt;-&lt;variant&gt;-seed&lt;k&gt;</c>, with anything but letters, digits, '.', '_' and '-' in the variant made '_'.</summary>
    public static string RunFolderName(RunReport run)
    {
        ArgumentNullException.ThrowIfNull(run);
        string variant = Variant(run.ConfigJson);
        var safe = new StringBuilder(variant.Length);
        foreach (char c in variant)
        {
            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        return string.Create(s_inv, $"{run.RunId}-{safe}-seed{run.Seed}");
    }

    /// <summary>The run's events, in step order (the header record is added when written).</summary>
    public static IReadOnlyList<TbEvent> Events(RunReport run)
    {
        ArgumentNullException.ThrowIfNull(run);
        double wall = WallTime(run);
        var curve = run.Loss.OrderBy(l => l.Task).ThenBy(l => l.Epoch).ThenBy(l => l.Step).ToList();
        long StepAt(int afterTask, int epoch) =>
            afterTask == 0 ? 0 : curve.Count(l => l.Task < afterTask || (l.Task == afterTask && l.Epoch <= epoch));

        var events = new List<TbEvent> { new(wall, 0, [TbValue.OfText("config", Indented(run.ConfigJson))]) };
        foreach (var (point, k) in curve.Select((p, k) => (p, k)))
        {
            events.Add(new TbEvent(wall, k + 1, [TbValue.Of("train/loss", (float)point.Loss)]));
        }

        foreach (var e in run.Evaluations)
        {
            events.Add(new TbEvent(wall, StepAt(e.AfterTask, e.Epoch), [TbValue.Of(string.Create(s_inv, $"eval/T{e.EvalTask + 1}/{e.Metric}"), (float)e.Value)]));
        }

        var edges = TbHistograms.UnitEdges(Core.Training.GateStatistics.Bins);
        if (run.GateStepRows.Count > 0)
        {
            foreach (var g in run.GateStepRows)
            {
                var s = g.Spread;
                var histogram = TbHistograms.FromBins(s.Min, s.Max, s.Count, s.Sum, s.SumSquares, edges, s.Counts.Select(c => (double)c).ToArray());
                events.Add(new TbEvent(wall, StepAt(g.AfterTask, g.Epoch), [new TbValue(string.Create(s_inv, $"forget_gate/layer{g.Layer}/T{g.EvalTask + 1}"), Histogram: histogram)]));
            }

            foreach (var at in run.GateStepRows.GroupBy(g => (g.AfterTask, g.Epoch, g.Layer)))
            {
                long step = StepAt(at.Key.AfterTask, at.Key.Epoch);
                var rows = at.OrderBy(g => g.EvalTask).ToList();
                string tag = string.Create(s_inv, $"forget_gate_steps/layer{at.Key.Layer}");
                events.Add(new TbEvent(wall, step, [new TbValue(tag, Image: StepImage(rows))]));
                events.Add(new TbEvent(wall, step, [TbValue.OfText(tag, StepTable(rows))]));
            }
        }
        else
        {
            // Runs recorded before gates through time kept only bin fractions and the mean: a histogram of weight 1.
            foreach (var g in run.Gates)
            {
                int first = g.Counts.ToList().FindIndex(c => c > 0), last = g.Counts.ToList().FindLastIndex(c => c > 0);
                var histogram = TbHistograms.FromBins(first < 0 ? 0 : edges[first], last < 0 ? 1 : edges[last + 1], 1, g.Mean, 0, edges, g.Counts.ToArray());
                int epoch = run.Evaluations.Where(e => e.AfterTask == g.AfterTask).Select(e => e.Epoch).DefaultIfEmpty(0).Max();
                events.Add(new TbEvent(wall, StepAt(g.AfterTask, epoch), [new TbValue(string.Create(s_inv, $"forget_gate/layer{g.Layer}/T{g.EvalTask + 1}"), Histogram: histogram)]));
            }
        }

        long lastStep = curve.Count;
        foreach (var m in run.Summary)
        {
            events.Add(new TbEvent(wall, lastStep, [TbValue.Of("summary/" + m.Name, (float)m.Value)]));
        }

        // Stable: within a step, the order above (config, losses, evaluations, gates, summary).
        return [.. events.Select((e, i) => (e, i)).OrderBy(x => x.e.Step).ThenBy(x => x.i).Select(x => x.e)];
    }

    /// <summary>Mean gate per time step as pixels: one band of 12 rows per task, each step at least 1 pixel (up to 8) wide.</summary>
    private static TbImage StepImage(List<GateStepRow> rows)
    {
        int steps = rows.Max(r => r.Steps);
        int cell = Math.Clamp(448 / steps, 1, 8), band = 12;
        int width = steps * cell, height = rows.Count * band;
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            var means = rows[y / band].StepMeans;
            for (int x = 0; x < width; x++)
            {
                int t = x / cell;
                var (r, g, b) = Svg.HeatRgb(t < means.Count ? means[t] : double.NaN);
                int o = ((y * width) + x) * 3;
                (rgb[o], rgb[o + 1], rgb[o + 2]) = (r, g, b);
            }
        }

        return new TbImage(height, width, 3, Png.EncodeRgb(width, height, rgb));
    }

    /// <summary>The same means as numbers (CSV in a Markdown code block: TensorBoard renders text as Markdown).</summary>
    private static string StepTable(List<GateStepRow> rows)
    {
        var sb = new StringBuilder("    task,").Append(string.Join(",", Enumerable.Range(1, rows.Max(r => r.Steps)).Select(t => "t" + t.ToString(s_inv)))).Append('\n');
        foreach (var r in rows)
        {
            sb.Append(s_inv, $"    T{r.EvalTask + 1},").Append(string.Join(",", r.StepMeans.Select(v => v.ToString("F4", s_inv)))).Append('\n');
        }

        return sb.ToString();
    }

    private static string Indented(string json)
    {
        using var doc = JsonDocument.Parse(json);
        string pretty = JsonSerializer.Serialize(doc.RootElement, s_indented);
        return string.Join('\n', pretty.Split('\n').Select(l => "    " + l)); // a Markdown code block
    }

    private static string Variant(string configJson)
    {
        using var doc = JsonDocument.Parse(configJson);
        return doc.RootElement.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            && model.TryGetProperty("variant", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "run";
    }

    private static double WallTime(RunReport run) => run.StartedAt is { } at ? at.ToUnixTimeMilliseconds() / 1000.0 : 0;
}
