using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Gates-through-time rows (migration 0003) through the fenced sink on both stores, and through <c>store copy</c>.</summary>
public sealed class GateStepsStoreTests
{
    private static List<GateStepRow> Rows()
    {
        const int steps = 6, batch = 3, units = 5;
        var gates = new float[steps * batch * units];
        var rows = new List<GateStepRow>();
        foreach (var (after, epoch) in new[] { (0, 0), (1, 1), (1, 2) })
        {
            for (int i = 0; i < gates.Length; i++)
            {
                gates[i] = (float)((0.5 + (0.49 * Math.Sin((i * 0.7) + after + epoch))) * (i % 7 == 0 ? 1.5 : 1)); // some values above 1, as a cell file's may be
            }

            rows.Add(GateSteps.Summarise(after, epoch, layer: 0, evalTask: 0, gates, steps, batch, units));
            rows.Add(GateSteps.Summarise(after, epoch, layer: 1, evalTask: 1, gates, steps, batch, units));
        }

        return rows;
    }

    [Theory]
    [InlineData(StoreKind.Sqlite, StoreKind.Postgres)]
    [InlineData(StoreKind.Postgres, StoreKind.Sqlite)]
    public async Task WriteGateSteps_ReadBackAndCopied_SameRowsInBothStores(StoreKind kind, StoreKind other)
    {
        using var db = new TestDatabase(kind);
        using var target = new TestDatabase(other);
        long[] ids = await db.QueueAsync("gates", [TestDatabase.Synthetic(1)]);
        var claimed = await db.Store.ClaimAsync(new ClaimRequest("w", TimeSpan.FromMinutes(5)), CancellationToken.None);
        var sink = db.Store.OpenSink(claimed!);
        var rows = Rows();
        await sink.WriteGateStepsAsync(rows, CancellationToken.None);
        await sink.WriteGateStepsAsync(rows.Take(2).ToList(), CancellationToken.None); // a resumed attempt repeats: upserts
        await sink.WriteEvaluationsAsync([new EvaluationRow(0, 0, 0, "accuracy", 0.5)], CancellationToken.None);
        Assert.Equal(rows.Count, db.Scalar<long>("SELECT COUNT(*) FROM gate_steps"));

        var stored = (await db.Store.LoadSweepAsync(claimed!.SweepId, CancellationToken.None)).GateSteps;
        Assert.All(stored, s => Assert.Equal(ids[0], s.RunId));
        Assert.Equal(rows.Count, stored.Count);
        foreach (var (row, back) in rows.Zip(stored.Select(s => s.Row)))
        {
            Assert.Equal((row.AfterTask, row.Epoch, row.Layer, row.EvalTask, row.ProbeCount, row.Steps, row.Units, row.SampleIndex), (back.AfterTask, back.Epoch, back.Layer, back.EvalTask, back.ProbeCount, back.Steps, back.Units, back.SampleIndex));
            Assert.Equal(row.StepMeans, back.StepMeans); // JSON round-trips doubles exactly
            Assert.Equal(row.Spread with { Counts = [] }, back.Spread with { Counts = [] });
            Assert.Equal(row.Spread.Counts, back.Spread.Counts);
            // Halves: relative error at most 2^-11 (GateStepCodec).
            Assert.All(row.SampleGates.Zip(back.SampleGates), p => Assert.True(Math.Abs(p.First - p.Second) <= Math.Abs(p.First) * 4.9e-4, $"{p.First} vs {p.Second}"));
        }

        // Lease lost: nothing is written.
        await db.Store.FailAsync(claimed.RunId, claimed.LeaseToken, "x", retryable: false, CancellationToken.None);
        await Assert.ThrowsAsync<LeaseLostException>(() => sink.WriteGateStepsAsync([rows[0] with { Epoch = 9 }], CancellationToken.None));
        Assert.Equal(rows.Count, db.Scalar<long>("SELECT COUNT(*) FROM gate_steps"));

        // store copy carries them, bit for bit as stored (the halves' bytes too).
        await StoreCopier.CopyAsync(db.Store, target.Store, ["gates"], null, CancellationToken.None);
        var copied = (await target.Store.LoadSweepAsync((await target.Store.FindSweepAsync("gates", CancellationToken.None))!.Id, CancellationToken.None)).GateSteps;
        Assert.Equal(stored.Count, copied.Count);
        foreach (var (a, b) in stored.Zip(copied))
        {
            Assert.Equal(a.Row.StepMeans, b.Row.StepMeans);
            Assert.Equal(a.Row.SampleGates, b.Row.SampleGates);
            Assert.Equal(a.Row.Spread with { Counts = [] }, b.Row.Spread with { Counts = [] });
            Assert.Equal(a.Row.Spread.Counts, b.Row.Spread.Counts);
        }
    }
}
