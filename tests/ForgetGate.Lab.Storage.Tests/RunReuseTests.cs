using System.Globalization;
using Dapper;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Reuse of finished runs across sweeps on a real SQLite file.</summary>
public sealed class SqliteRunReuseTests() : RunReuseTests(StoreKind.Sqlite)
{
    [Fact]
    public async Task ReuseFinishedRunsAsync_FailureMidCopy_LeavesNoPartialRunAndAResumedCallCompletesWithoutDuplicates()
    {
        var (sources, configs) = await FinishedSweepAsync(3);
        long sweep = await SupersetSweepAsync();
        var runs = Runs([.. configs]);

        // A fault on the second run's copy (its gate telemetry, after its run row, evaluations and curves were written):
        // the first run's transaction has committed, the second must leave nothing behind.
        using (var connection = Db.Open())
        {
            connection.Execute($"""
                CREATE TRIGGER fail_second_copy BEFORE INSERT ON gate_telemetry
                WHEN (SELECT progress_note FROM runs WHERE id = NEW.run_id) = 'reused from run {sources[1]}'
                BEGIN
                    SELECT RAISE(ABORT, 'injected fault');
                END
                """);
        }

        var fault = await Assert.ThrowsAsync<SqliteException>(() => Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None));
        Assert.Contains("injected fault", fault.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { RunRows(sources[0]) }, SweepRuns(sweep).Select(RunRows));
        Assert.Equal(0, Db.Scalar<long>("SELECT COUNT(*) FROM evaluations WHERE run_id NOT IN (SELECT id FROM runs)"));

        using (var connection = Db.Open())
        {
            connection.Execute("DROP TRIGGER fail_second_copy");
        }

        var resumed = await Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None);
        Assert.Equal(new[] { sources[1], sources[2] }, resumed.Select(r => r.SourceRunId));
        Assert.Equal(sources.Select(RunRows), SweepRuns(sweep).Select(RunRows));
    }
}

/// <summary>Reuse of finished runs across sweeps on a real PostgreSQL server.</summary>
public sealed class PostgresRunReuseTests() : RunReuseTests(StoreKind.Postgres);

/// <summary>
/// A changed spec is a new sweep; its points already finished anywhere in the store are filled from those runs instead of
/// being computed again: written once, run against each provider.
/// </summary>
public abstract class RunReuseTests : IDisposable
{
    private static readonly string[] s_copiedTables = ["evaluations", "training_curves", "gate_telemetry", "run_summaries", "checkpoints"];

    protected RunReuseTests(StoreKind kind) => Db = new TestDatabase(kind);

    internal TestDatabase Db { get; }

    internal IRunStore Store => Db.Store;

    public void Dispose()
    {
        Db.Dispose();
        GC.SuppressFinalize(this);
    }

    private static Dictionary<string, object> Config(int i) => TestDatabase.Synthetic(10 + i, tasks: 2, epochs: 2, steps: 2, stepMs: 0);

    internal static List<NewRun> Runs(params Dictionary<string, object>[] configs) =>
        [.. configs.Select(c =>
        {
            string json = System.Text.Json.JsonSerializer.Serialize(new SortedDictionary<string, object>(c, StringComparer.Ordinal));
            return new NewRun(json, RunListSweepSource.Sha256(json), Convert.ToInt64(c["seed"], CultureInfo.InvariantCulture), "synthetic", Priority: 4, MaxAttempts: 2);
        })];

    /// <summary>Sweep "a" (spec v1) with <paramref name="finished"/> finished runs, each with provenance as a worker stores it.</summary>
    internal async Task<(long[] Ids, List<Dictionary<string, object>> Configs)> FinishedSweepAsync(int finished)
    {
        var configs = Enumerable.Range(0, finished).Select(Config).ToList();
        long[] ids = await Db.QueueAsync("a", configs);
        foreach (long id in ids)
        {
            var claimed = await Store.ClaimAsync(new ClaimRequest("laptop:1", TimeSpan.FromMinutes(5), "0.1.0+abc" + id, $$"""{"cpu":"test","run":{{id}}}"""), CancellationToken.None);
            Assert.Equal(id, claimed!.RunId);
            await Store.OpenSink(claimed).RecordDatasetFingerprintAsync("fp" + id, CancellationToken.None);
            await Store.ReleaseAsync(id, claimed.LeaseToken, CancellationToken.None);
            await Db.RunInProcessAsync(id);
        }

        return (ids, configs);
    }

    /// <summary>Sweep "a" again under a changed spec: a new sweep.</summary>
    internal Task<long> SupersetSweepAsync(string specText = "a plus one") =>
        Store.CreateSweepAsync(new NewSweep("a", specText, RunListSweepSource.Sha256(specText)), CancellationToken.None);

    internal List<long> SweepRuns(long sweep) => Db.Query<long>("SELECT id FROM runs WHERE sweep_id = @sweep ORDER BY id", new { sweep });

    /// <summary>Every stored row of a run (run id left out) and its provenance columns, as sorted text.</summary>
    internal string RunRows(long runId)
    {
        using var connection = Db.Open();
        var lines = new List<string>();
        var run = (IDictionary<string, object?>)connection.QuerySingle(
            "SELECT config_json, config_hash, variant, seed, status, progress, started_at, finished_at, code_version, environment, dataset_fingerprint FROM runs WHERE id = @runId", new { runId });
        lines.Add("run " + Format(run));
        foreach (string table in s_copiedTables)
        {
            foreach (IDictionary<string, object?> row in connection.Query($"SELECT * FROM {table} WHERE run_id = @runId", new { runId }))
            {
                row.Remove("run_id");
                lines.Add(table + " " + Format(row));
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);

        static string Format(IDictionary<string, object?> row) =>
            string.Join(" ", row.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Key + "=" + (c.Value is double d ? d.ToString("R", CultureInfo.InvariantCulture) : Convert.ToString(c.Value, CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task ReuseFinishedRunsAsync_SpecWithAnExtraPoint_FinishedPointsCopiedWithEveryRowAndProvenanceOnlyTheNewOneQueued()
    {
        var (sources, configs) = await FinishedSweepAsync(2);
        long sweep = await SupersetSweepAsync();
        var runs = Runs([.. configs, Config(7)]);

        var reused = await Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None);

        Assert.Equal(sources, reused.Select(r => r.SourceRunId));
        Assert.Equal(runs.Take(2).Select(r => r.ConfigHash), reused.Select(r => r.ConfigHash));
        foreach (var r in reused)
        {
            Assert.Equal(RunRows(r.SourceRunId), RunRows(r.RunId));
            var record = await Store.GetRunAsync(r.RunId, CancellationToken.None);
            Assert.Equal((sweep, RunStatus.Succeeded, 0L, 4L, 2L, null, null), (record!.SweepId, record.Status, record.Attempt, record.Priority, record.MaxAttempts, record.LeaseToken, record.Error));
            Assert.Equal($"reused from run {r.SourceRunId}", Db.Scalar<string>("SELECT progress_note FROM runs WHERE id = @id", new { id = r.RunId }));
        }

        // Checkpoints are referenced: the same files, not copies.
        Assert.True(Db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = @id", new { id = reused[0].RunId }) > 0);

        // The queue then adds only the new point, and nothing of the reused runs is ever claimed.
        Assert.Equal(new EnqueueResult(1, 2), await Store.EnqueueAsync(sweep, runs, CancellationToken.None));
        var claimed = await Store.ClaimAsync(new ClaimRequest("w", TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.Equal(runs[2].ConfigHash, claimed!.ConfigHash);
        Assert.Null(await Store.ClaimAsync(new ClaimRequest("w", TimeSpan.FromMinutes(5)), CancellationToken.None));

        // What reports read: the reused runs' metrics are the originals'.
        var original = await Store.LoadSweepAsync(Db.Scalar<long>("SELECT sweep_id FROM runs WHERE id = @id", new { id = sources[0] }), CancellationToken.None);
        var copy = await Store.LoadSweepAsync(sweep, CancellationToken.None);
        var map = reused.ToDictionary(r => r.SourceRunId, r => r.RunId);
        Assert.NotEmpty(original.Summaries);
        Assert.Equal(original.Summaries.Select(s => s with { RunId = map[s.RunId] }), copy.Summaries.Where(s => map.ContainsValue(s.RunId)));
        Assert.Equal(original.Evaluations.Select(e => e with { RunId = map[e.RunId] }), copy.Evaluations.Where(e => map.ContainsValue(e.RunId)));
        // Attempt 0: nothing was executed for the copy; ReusedFrom names the source (reports show it), and so does the
        // progress note the runs' listing shows.
        Assert.Equal(
            original.Runs.Select(r => r with { Id = map[r.Id], Attempt = 0, ReusedFrom = r.Id, ProgressNote = $"reused from run {r.Id}" }),
            copy.Runs.Where(r => map.ContainsValue(r.Id)));
        Assert.All(original.Runs, r => Assert.Null(r.ReusedFrom));
    }

    [Fact]
    public async Task ReuseFinishedRunsAsync_CalledAgain_AddsNothingAndWritesNoRow()
    {
        var (_, configs) = await FinishedSweepAsync(2);
        long sweep = await SupersetSweepAsync();
        var runs = Runs([.. configs, Config(7)]);
        Assert.Equal(2, (await Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None)).Count);
        var counts = s_copiedTables.Select(t => Db.Scalar<long>($"SELECT COUNT(*) FROM {t}")).Append(Db.Scalar<long>("SELECT COUNT(*) FROM runs")).ToList();

        Assert.Empty(await Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None));
        await Store.EnqueueAsync(sweep, runs, CancellationToken.None);
        Assert.Empty(await Store.ReuseFinishedRunsAsync(sweep, runs, CancellationToken.None));

        Assert.Equal(counts.Take(s_copiedTables.Length), s_copiedTables.Select(t => Db.Scalar<long>($"SELECT COUNT(*) FROM {t}")));
        Assert.Equal(counts[^1] + 1, Db.Scalar<long>("SELECT COUNT(*) FROM runs"));
    }

    [Fact]
    public async Task ReuseFinishedRunsAsync_UnfinishedRunsElsewhere_AreNotReused()
    {
        var configs = Enumerable.Range(0, 3).Select(Config).ToList();
        long[] ids = await Db.QueueAsync("a", configs); // 0 fails, 1 stays queued, 2 is cancelled
        var claimed = await Store.ClaimAsync(new ClaimRequest("w", TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.True(await Store.FailAsync(claimed!.RunId, claimed.LeaseToken, "boom", retryable: false, CancellationToken.None));
        Assert.Equal(ids[0], claimed.RunId);
        Assert.True(await Store.RequestCancelAsync(ids[2], CancellationToken.None));

        long sweep = await SupersetSweepAsync();
        Assert.Empty(await Store.ReuseFinishedRunsAsync(sweep, Runs([.. configs]), CancellationToken.None));
        Assert.Empty(SweepRuns(sweep));
    }

    [Fact]
    public async Task ReuseFinishedRunsAsync_ReuseOfAReuse_NamesTheRunThatWasComputed()
    {
        var (sources, configs) = await FinishedSweepAsync(1);
        long second = await SupersetSweepAsync("second");
        var first = Assert.Single(await Store.ReuseFinishedRunsAsync(second, Runs([.. configs]), CancellationToken.None));
        long third = await SupersetSweepAsync("third");

        var again = Assert.Single(await Store.ReuseFinishedRunsAsync(third, Runs([.. configs]), CancellationToken.None));

        Assert.Equal(sources[0], first.SourceRunId);
        Assert.Equal(sources[0], again.SourceRunId);
        Assert.Equal(RunRows(sources[0]), RunRows(again.RunId));
    }
}
