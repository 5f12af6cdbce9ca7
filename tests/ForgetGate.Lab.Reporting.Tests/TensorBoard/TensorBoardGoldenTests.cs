using System.Globalization;
using System.Text.Json;
using ForgetGate.Lab.Reporting.TensorBoard;

namespace ForgetGate.Lab.Reporting.Tests.TensorBoard;

/// <summary>
/// Our event-file reader and writer against files written by TensorBoard's own writer (torch.utils.tensorboard,
/// golden/make_golden.py) and what TensorBoard's reader (EventAccumulator) saw in them (golden/reader_view.json).
/// </summary>
public sealed class TensorBoardGoldenTests
{
    private static readonly string s_golden = Path.Combine(AppContext.BaseDirectory, "tensorboard-golden");
    private static readonly string s_run = Path.Combine(s_golden, "run-lstm-seed1");

    private static JsonElement ReaderView() => JsonDocument.Parse(File.ReadAllText(Path.Combine(s_golden, "reader_view.json"))).RootElement;

    private static string GoldenFile() => Directory.GetFiles(s_run).Single(f => f.Contains("tfevents", StringComparison.Ordinal));

    [Fact]
    public void ReadRun_GoldenFile_GivesExactlyTheReaderViewOfTensorBoard()
    {
        var expected = ReaderView();
        var view = TensorBoardFiles.ReadRun(s_run);

        Assert.Equal(expected.GetProperty("tags").GetProperty("scalars").EnumerateArray().Select(t => t.GetString()!), view.Scalars.Keys);
        Assert.Equal(expected.GetProperty("tags").GetProperty("histograms").EnumerateArray().Select(t => t.GetString()!), view.Histograms.Keys);
        Assert.Equal(expected.GetProperty("tags").GetProperty("tensors").EnumerateArray().Select(t => t.GetString()!), view.Texts.Keys);
        Assert.Empty(view.Images);

        foreach (var series in expected.GetProperty("scalars").EnumerateObject())
        {
            var points = view.Scalars[series.Name];
            var rows = series.Value.EnumerateArray().ToList();
            Assert.Equal(rows.Count, points.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.Equal(rows[i][0].GetDouble(), points[i].WallTime);
                Assert.Equal(rows[i][1].GetInt64(), points[i].Step);
                Assert.Equal(rows[i][2].GetDouble(), points[i].Value); // the float as a double, bit for bit
            }
        }

        foreach (var series in expected.GetProperty("histograms").EnumerateObject())
        {
            var points = view.Histograms[series.Name];
            var rows = series.Value.EnumerateArray().ToList();
            Assert.Equal(rows.Count, points.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var (row, h) = (rows[i], points[i].Histogram);
                Assert.Equal(row.GetProperty("wall_time").GetDouble(), points[i].WallTime);
                Assert.Equal(row.GetProperty("step").GetInt64(), points[i].Step);
                Assert.Equal(row.GetProperty("min").GetDouble(), h.Min);
                Assert.Equal(row.GetProperty("max").GetDouble(), h.Max);
                Assert.Equal(row.GetProperty("num").GetDouble(), h.Num);
                Assert.Equal(row.GetProperty("sum").GetDouble(), h.Sum);
                Assert.Equal(row.GetProperty("sum_squares").GetDouble(), h.SumSquares);
                Assert.Equal(row.GetProperty("bucket_limit").EnumerateArray().Select(x => x.GetDouble()), h.BucketLimit);
                Assert.Equal(row.GetProperty("bucket").EnumerateArray().Select(x => x.GetDouble()), h.Bucket);
            }
        }

        var text = Assert.Single(view.Texts["config/text_summary"]);
        Assert.Equal((1700000000.0, 0L, "variant: lstm\nseed: 1"), (text.WallTime, text.Step, text.Text));
    }

    [Fact]
    public void FromValues_GoldenValues_BinsLikeTensorBoardsWriter()
    {
        var values = File.ReadAllLines(Path.Combine(s_golden, "hist_values_step1.txt"))
            .Select(l => (float)double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        var expected = ReaderView().GetProperty("histograms").GetProperty("forget_gate/layer0").EnumerateArray().ToList();
        var steps = new[] { values, values.Select(MathF.Sqrt).ToArray() }; // step 2 is vals ** 0.5 in float32
        for (int s = 0; s < 2; s++)
        {
            var h = TbHistograms.FromValues(steps[s], TbHistograms.UnitEdges(20));
            var row = expected[s];
            Assert.Equal(row.GetProperty("bucket_limit").EnumerateArray().Select(x => x.GetDouble()), h.BucketLimit);
            Assert.Equal(row.GetProperty("bucket").EnumerateArray().Select(x => x.GetDouble()), h.Bucket);
            Assert.Equal(row.GetProperty("min").GetDouble(), h.Min);
            Assert.Equal(row.GetProperty("max").GetDouble(), h.Max);
            Assert.Equal(row.GetProperty("num").GetDouble(), h.Num);
            // numpy sums the float32 values in float32 (pairwise), we in float64: 1,000 values of at most 1 differ by
            // far less than 1e-5 relative (float32's epsilon is 1.2e-7 per addition, log2(1000) levels of pairs).
            Assert.Equal(row.GetProperty("sum").GetDouble(), h.Sum, 1e-5 * h.Sum);
            Assert.Equal(row.GetProperty("sum_squares").GetDouble(), h.SumSquares, 1e-5 * h.SumSquares);
        }
    }

    [Fact]
    public void Encode_SameContentAsGolden_IsTheSameBytesRecordForRecord()
    {
        var golden = File.ReadAllBytes(GoldenFile());
        var goldenRecords = TfRecord.ReadAll(golden, "golden");
        double headerTime = TbProto.Decode(goldenRecords[0]).WallTime; // the file's creation time: not content
        var view = ReaderView();
        var events = new List<TbEvent>();
        var pairs = new[] { (0.1, 0.1), (0.8, 0.12), (0.55, 0.79) };
        for (int step = 0; step < 3; step++)
        {
            double wall = 1700000000.0 + step;
            events.Add(new TbEvent(wall, step, [TbValue.Of("accuracy/task1", (float)pairs[step].Item1)]));
            events.Add(new TbEvent(wall, step, [TbValue.Of("accuracy/task2", (float)pairs[step].Item2)]));
            events.Add(new TbEvent(wall, step, [TbValue.Of("loss/train", (float)(2.3 - (0.5 * step)))]));
        }

        var values = File.ReadAllLines(Path.Combine(s_golden, "hist_values_step1.txt")).Select(l => (float)double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        var sums = view.GetProperty("histograms").GetProperty("forget_gate/layer0").EnumerateArray().ToList();
        for (int s = 0; s < 2; s++)
        {
            var ours = TbHistograms.FromValues(s == 0 ? values : values.Select(MathF.Sqrt).ToArray(), TbHistograms.UnitEdges(20));
            // Same content: numpy's float32 sums (see FromValues_GoldenValues_BinsLikeTensorBoardsWriter) taken as given.
            var same = ours with { Sum = sums[s].GetProperty("sum").GetDouble(), SumSquares = sums[s].GetProperty("sum_squares").GetDouble() };
            events.Add(new TbEvent(1700000001.0 + s, s + 1, [new TbValue("forget_gate/layer0", Histogram: same)]));
        }

        events.Add(new TbEvent(1700000000.0, 0, [TbValue.OfText("config", "variant: lstm\nseed: 1")]));
        var ours2 = TensorBoardFiles.Encode(headerTime, events, "tensorboard.summary.writer.event_file_writer");

        var ourRecords = TfRecord.ReadAll(ours2, "ours");
        Assert.Equal(goldenRecords.Count, ourRecords.Count);
        for (int i = 0; i < goldenRecords.Count; i++)
        {
            Assert.True(goldenRecords[i].AsSpan().SequenceEqual(ourRecords[i]), $"record {i} differs: golden {Convert.ToHexString(goldenRecords[i])}, ours {Convert.ToHexString(ourRecords[i])}");
        }

        Assert.Equal(golden, ours2); // framing (lengths and masked CRCs) included
    }

    [Fact]
    public void Decode_ThenEncode_EveryGoldenRecord_IsIdentity()
    {
        var records = TfRecord.ReadAll(File.ReadAllBytes(GoldenFile()), "golden");
        foreach (var record in records)
        {
            Assert.Equal(record, TbProto.Encode(TbProto.Decode(record)));
        }
    }
}
