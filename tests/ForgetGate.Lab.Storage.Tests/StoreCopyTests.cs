using System.Globalization;
using Dapper;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>
/// <c>store copy</c> between a real SQLite file and a real PostgreSQL database, both ways: every row arrives as stored,
/// repeating writes nothing twice, a run finished in the source after a first copy replaces the unfinished one.
/// </summary>
public sealed class StoreCopyTests : IDisposable
{
    private readonly TestDatabase _sqlite = new(StoreKind.Sqlite);
    private readonly TestDatabase _postgres = new(StoreKind.Postgres);

    public void Dispose()
    {
        _sqlite.Dispose();
        _postgres.Dispose();
    }

    /// <summary>A sweep with three finished runs (rows written by the real sink), one failed and one still queued.</summary>
    private static async Task<long[]> SeedAsync(TestDatabase db, string sweep)
    {
        long[] ids = await db.QueueAsync(sweep, Enumerable.Range(0, 5).Select(i => TestDatabase.Synthetic(100 + i, tasks: 2, epochs: 2, steps: 3)));
        for (int i = 0; i < 3; i++)
        {
            await db.RunInProcessAsync(ids[i]);
        }

        var failing = await db.Store.ClaimAsync(new ClaimRequest("w", TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.Equal(ids[3], failing!.RunId);
        Assert.True(await db.Store.FailAsync(failing.RunId, failing.LeaseToken, "dataset missing: /x", retryable: false, CancellationToken.None));
        return ids;
    }

    /// <summary>
    /// The sweep as canonical text: each run's columns (ids left out, rows keyed by config hash) and every row of every
    /// run table with run_id replaced by the run's config hash, values printed round-trip; sorted.
    /// </summary>
    private static List<string> Snapshot(TestDatabase db, string sweep)
    {
        using var connection = db.Open();
        var lines = new List<string>();
        var hashes = new Dictionary<long, string>();
        foreach (IDictionary<string, object?> run in connection.Query("SELECT r.* FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE s.name = @sweep", new { sweep }))
        {
            hashes[Convert.ToInt64(run["id"], CultureInfo.InvariantCulture)] = (string)run["config_hash"]!;
            lines.Add("runs " + Format(run, skip: ["id", "sweep_id"]));
        }

        foreach (string table in StoreCopier.RunTables)
        {
            foreach (IDictionary<string, object?> row in connection.Query($"SELECT t.* FROM {table} t JOIN runs r ON r.id = t.run_id JOIN sweeps s ON s.id = r.sweep_id WHERE s.name = @sweep", new { sweep }))
            {
                row["run_id"] = hashes[Convert.ToInt64(row["run_id"], CultureInfo.InvariantCulture)];
                lines.Add(table + " " + Format(row, skip: []));
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string Format(IDictionary<string, object?> row, string[] skip) =>
        string.Join(" ", row.Where(kv => !skip.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value switch
        {
            null or DBNull => "NULL",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var v => v.ToString(),
        }));

    [Fact]
    public async Task CopyAsync_SqliteToPostgresAndBack_EveryRowAsStoredRepeatWritesNothing()
    {
        await SeedAsync(_sqlite, "laptop");
        var before = Snapshot(_sqlite, "laptop");
        Assert.Contains(before, l => l.StartsWith("evaluations ", StringComparison.Ordinal));
        Assert.Contains(before, l => l.StartsWith("gate_telemetry ", StringComparison.Ordinal));
        Assert.Contains(before, l => l.StartsWith("checkpoints ", StringComparison.Ordinal));

        var first = Assert.Single(await StoreCopier.CopyAsync(_sqlite.Store, _postgres.Store, ["laptop"], null, CancellationToken.None));
        Assert.Equal((5, 0, 0, 1), (first.Copied, first.Updated, first.AlreadyThere, first.Unfinished));
        Assert.Equal(before, Snapshot(_postgres, "laptop"));

        var again = Assert.Single(await StoreCopier.CopyAsync(_sqlite.Store, _postgres.Store, [], null, CancellationToken.None));
        Assert.Equal((0, 0, 5, 0L), (again.Copied, again.Updated, again.AlreadyThere, again.Rows));
        Assert.Equal(before, Snapshot(_postgres, "laptop"));
        Assert.Equal(1, _postgres.Scalar<long>("SELECT COUNT(*) FROM sweeps"));

        // And back into a fresh SQLite file: still the same rows.
        using var back = new TestDatabase(StoreKind.Sqlite);
        await StoreCopier.CopyAsync(_postgres.Store, back.Store, ["laptop"], null, CancellationToken.None);
        Assert.Equal(before, Snapshot(back, "laptop"));
        Assert.Equal("ok", back.IntegrityCheck());
        Assert.Equal("ok", _postgres.IntegrityCheck());

        // The read model (what reports and exports use) sees the same data in both stores.
        var fromSqlite = await _sqlite.Store.LoadSweepAsync((await _sqlite.Store.FindSweepAsync("laptop", CancellationToken.None))!.Id, CancellationToken.None);
        var fromPostgres = await _postgres.Store.LoadSweepAsync((await _postgres.Store.FindSweepAsync("laptop", CancellationToken.None))!.Id, CancellationToken.None);
        Assert.Equal(fromSqlite.Evaluations.Select(e => (e.AfterTask, e.Epoch, e.EvalTask, e.Metric, e.Value)), fromPostgres.Evaluations.Select(e => (e.AfterTask, e.Epoch, e.EvalTask, e.Metric, e.Value)));
        Assert.Equal(fromSqlite.Gates.SelectMany(g => g.Histogram), fromPostgres.Gates.SelectMany(g => g.Histogram));
        Assert.Equal(fromSqlite.Runs.Select(r => (r.ConfigHash, r.Status, r.Error, r.StartedAt)), fromPostgres.Runs.Select(r => (r.ConfigHash, r.Status, r.Error, r.StartedAt)));
    }

    [Fact]
    public async Task CopyAsync_RunFinishedInSourceAfterFirstCopy_ReplacesTheUnfinishedOneOnly()
    {
        long[] ids = await SeedAsync(_postgres, "shared");
        await StoreCopier.CopyAsync(_postgres.Store, _sqlite.Store, ["shared"], null, CancellationToken.None);
        Assert.Equal("queued", _sqlite.Scalar<string>("SELECT status FROM runs WHERE config_hash = (SELECT config_hash FROM runs WHERE id = @id)", new { id = ids[4] }));

        await _postgres.RunInProcessAsync(ids[4]);
        var second = Assert.Single(await StoreCopier.CopyAsync(_postgres.Store, _sqlite.Store, ["shared"], null, CancellationToken.None));
        Assert.Equal((0, 1, 4), (second.Copied, second.Updated, second.AlreadyThere));
        Assert.Equal(Snapshot(_postgres, "shared"), Snapshot(_sqlite, "shared"));
        Assert.Equal("ok", _sqlite.IntegrityCheck());
    }

    [Fact]
    public async Task CopyAsync_RunningRunInSource_ArrivesQueuedWithoutLease()
    {
        long[] ids = await _sqlite.QueueAsync("live", [TestDatabase.Synthetic(1)]);
        var claimed = await _sqlite.Store.ClaimAsync(new ClaimRequest("laptop", TimeSpan.FromMinutes(5)), CancellationToken.None);
        await _sqlite.Store.OpenSink(claimed!).WriteEvaluationsAsync([new Core.Runs.EvaluationRow(0, 0, 0, "acc", 0.5)], CancellationToken.None);

        var result = Assert.Single(await StoreCopier.CopyAsync(_sqlite.Store, _postgres.Store, ["live"], null, CancellationToken.None));
        Assert.Equal((1, 1), (result.Copied, result.Unfinished));
        var row = _postgres.Query<(string Status, string? LeaseToken, long Attempt)>("SELECT status, lease_token, attempt FROM runs").Single();
        Assert.Equal(("queued", (string?)null, 1L), row);
        Assert.Equal(1, _postgres.Scalar<long>("SELECT COUNT(*) FROM evaluations"));
        var next = await _postgres.Store.ClaimAsync(new ClaimRequest("server", TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.Equal(2, next!.Attempt);
        Assert.Equal(ids[0], _sqlite.Scalar<long>("SELECT id FROM runs"));
    }

    [Fact]
    public async Task CopyAsync_SameStoreOrUnknownSweep_ClearErrorNothingWritten()
    {
        await SeedAsync(_sqlite, "one");
        var same = await Assert.ThrowsAsync<ArgumentException>(() => StoreCopier.CopyAsync(_sqlite.Store, RunStores.Open(_sqlite.Path), [], null, CancellationToken.None));
        Assert.Contains("are the same store", same.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => StoreCopier.CopyAsync(_sqlite.Store, _postgres.Store, ["nope"], null, CancellationToken.None));
        Assert.Contains("--sweep 'nope': no such sweep", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(0, _postgres.Scalar<long>("SELECT COUNT(*) FROM sweeps"));
    }
}
