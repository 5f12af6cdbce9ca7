using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Queue and sink semantics on a real SQLite file.</summary>
public sealed class SqliteRunStoreTests() : RunStoreTests(StoreKind.Sqlite);

/// <summary>Queue and sink semantics on a real PostgreSQL server.</summary>
public sealed class PostgresRunStoreTests() : RunStoreTests(StoreKind.Postgres);

/// <summary>Queue and sink semantics, in-process, written once and run against each provider.</summary>
public abstract class RunStoreTests : IDisposable
{
    private static readonly TimeSpan s_longLease = TimeSpan.FromMinutes(5);
    private readonly TestDatabase _db;

    protected RunStoreTests(StoreKind kind) => _db = new TestDatabase(kind);

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private IRunStore Store => _db.Store;

    private Task<ClaimedRun?> ClaimAsync(string owner, TimeSpan? lease = null) =>
        Store.ClaimAsync(new ClaimRequest(owner, lease ?? s_longLease), CancellationToken.None);

    [Fact]
    public async Task MigrateAsync_AlreadyMigrated_AppliesNothing()
    {
        Assert.Equal(0, await Store.MigrateAsync(CancellationToken.None));
        Assert.Equal(SqlDialect.Scripts(_db.Kind == StoreKind.Postgres ? "Postgres" : "Sqlite").Count(), _db.Scalar<long>("SELECT COUNT(*) FROM schema_version"));
        if (_db.Kind == StoreKind.Sqlite)
        {
            Assert.Equal("wal", _db.Scalar<string>("PRAGMA journal_mode"));
        }
    }

    [Fact]
    public async Task EnqueueAsync_SameConfigHashTwiceInSweep_IsOneRun()
    {
        long sweep = await Store.CreateSweepAsync(new NewSweep("dup", "spec", "h"), CancellationToken.None);
        Assert.Equal(sweep, await Store.CreateSweepAsync(new NewSweep("dup", "spec", "h"), CancellationToken.None));
        var run = new NewRun("{\"seed\":1}", "abc", 1);
        var first = await Store.EnqueueAsync(sweep, [run, run], CancellationToken.None);
        var second = await Store.EnqueueAsync(sweep, [run], CancellationToken.None);
        Assert.Equal(new EnqueueResult(1, 1), first);
        Assert.Equal(new EnqueueResult(0, 1), second);
        Assert.Equal(1, _db.Scalar<long>("SELECT COUNT(*) FROM runs"));
    }

    [Fact]
    public async Task ClaimAsync_MixedPriorities_HighestPriorityFirstThenOldest()
    {
        long[] low = await _db.QueueAsync("low", [TestDatabase.Synthetic(1), TestDatabase.Synthetic(2)], priority: 0);
        long[] high = await _db.QueueAsync("high", [TestDatabase.Synthetic(3), TestDatabase.Synthetic(4)], priority: 5);
        var order = new List<long>();
        while (await ClaimAsync("w") is { } claimed)
        {
            order.Add(claimed.RunId);
            Assert.Equal(1, claimed.Attempt);
        }

        Assert.Equal([high[0], high[1], low[0], low[1]], order);
    }

    [Fact]
    public async Task ClaimAsync_LimitedToOneSweep_LeavesOtherSweepsQueued()
    {
        long[] other = await _db.QueueAsync("other", [TestDatabase.Synthetic(1)], priority: 9);
        long[] mine = await _db.QueueAsync("mine", [TestDatabase.Synthetic(2), TestDatabase.Synthetic(3)]);
        long sweep = (await Store.GetRunAsync(mine[0], CancellationToken.None))!.SweepId;
        var claimed = new List<long>();
        while (await Store.ClaimAsync(new ClaimRequest("w", s_longLease, SweepId: sweep), CancellationToken.None) is { } run)
        {
            claimed.Add(run.RunId);
        }

        Assert.Equal(mine, claimed);
        Assert.Equal(RunStatus.Queued, (await Store.GetRunAsync(other[0], CancellationToken.None))!.Status);
        Assert.Equal(other[0], (await ClaimAsync("any"))!.RunId);
    }

    [Fact]
    public async Task Sink_AfterAnotherWorkerClaimedTheRun_WritesNothingAndThrowsLeaseLost()
    {
        long[] ids = await _db.QueueAsync("fence", [TestDatabase.Synthetic(7)]);
        var zombie = await ClaimAsync("zombie", TimeSpan.FromMilliseconds(50));
        Assert.NotNull(zombie);
        var zombieSink = Store.OpenSink(zombie);
        await zombieSink.WriteEvaluationsAsync([new EvaluationRow(0, 0, 0, "acc", 0.5)], CancellationToken.None);

        await Task.Delay(120); // let the 50 ms lease expire
        Assert.Equal(1, await Store.RescueExpiredAsync(CancellationToken.None));
        var owner = await ClaimAsync("owner");
        Assert.NotNull(owner);
        Assert.Equal(2, owner.Attempt);

        await Assert.ThrowsAsync<LeaseLostException>(() => zombieSink.WriteEvaluationsAsync([new EvaluationRow(0, 0, 0, "acc", 0.9), new EvaluationRow(0, 0, 1, "acc", 0.9)], CancellationToken.None));
        await Assert.ThrowsAsync<LeaseLostException>(() => zombieSink.RecordCheckpointAsync(new CheckpointRecord(0, 0, 0, "/x", "00"), CancellationToken.None));
        await Assert.ThrowsAsync<LeaseLostException>(() => zombieSink.ReportProgressAsync(0.5, null, CancellationToken.None));
        await Assert.ThrowsAsync<LeaseLostException>(() => zombieSink.CompleteAsync([], CancellationToken.None));
        await Assert.ThrowsAsync<LeaseLostException>(() => zombieSink.RecordDatasetFingerprintAsync("feed", CancellationToken.None));
        Assert.Null(await Store.HeartbeatAsync(ids[0], zombie.LeaseToken, s_longLease, CancellationToken.None));

        // Nothing of the rejected batch landed: the first write's value stays, no second row, no checkpoint.
        Assert.Equal(["0/0/0/acc=0.5"], _db.Evaluations(ids[0]));
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM checkpoints"));
        Assert.Equal(RunStatus.Running, (await Store.GetRunAsync(ids[0], CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task WriteEvaluationsAsync_SameKeyTwice_UpsertsOneRow()
    {
        long[] ids = await _db.QueueAsync("upsert", [TestDatabase.Synthetic(1)]);
        var run = (await ClaimAsync("w"))!;
        var sink = Store.OpenSink(run);
        await sink.WriteEvaluationsAsync([new EvaluationRow(1, 0, 0, "acc", 0.25)], CancellationToken.None);
        await sink.WriteEvaluationsAsync([new EvaluationRow(1, 0, 0, "acc", 0.75)], CancellationToken.None);
        await sink.WriteGateTelemetryAsync([new GateTelemetryRow(0, 0, 0, 0.5, 0.1, 0.2, new double[20])], CancellationToken.None);
        await sink.WriteGateTelemetryAsync([new GateTelemetryRow(0, 0, 0, 0.6, 0.1, 0.2, new double[20])], CancellationToken.None);
        Assert.Equal(["1/0/0/acc=0.75"], _db.Evaluations(ids[0]));
        Assert.Equal(0.6, _db.Scalar<double>("SELECT mean FROM gate_telemetry"));
        await sink.RecordDatasetFingerprintAsync("c0ffee", CancellationToken.None);
        Assert.Equal("c0ffee", _db.Scalar<string>("SELECT dataset_fingerprint FROM runs WHERE id = @id", new { id = ids[0] }));
    }

    [Fact]
    public async Task RescueExpiredAsync_AttemptsUsedUp_FailsWithLeaseExpiredMessage()
    {
        long[] ids = await _db.QueueAsync("rescue", [TestDatabase.Synthetic(1)], maxAttempts: 2);
        for (int attempt = 1; attempt <= 2; attempt++)
        {
            var run = await ClaimAsync("crashy", TimeSpan.FromMilliseconds(30));
            Assert.Equal(attempt, run!.Attempt);
            await Task.Delay(80);
            Assert.Equal(1, await Store.RescueExpiredAsync(CancellationToken.None));
        }

        var record = (await Store.GetRunAsync(ids[0], CancellationToken.None))!;
        Assert.Equal(RunStatus.Failed, record.Status);
        Assert.Equal("lease expired after 2 attempts", record.Error);
        Assert.Null(await ClaimAsync("other"));
    }

    [Fact]
    public async Task ReleaseAsync_GracefulStop_RequeuesWithoutBurningAttempt()
    {
        long[] ids = await _db.QueueAsync("release", [TestDatabase.Synthetic(1)], maxAttempts: 1);
        var run = (await ClaimAsync("w"))!;
        Assert.True(await Store.ReleaseAsync(run.RunId, run.LeaseToken, CancellationToken.None));
        Assert.False(await Store.ReleaseAsync(run.RunId, run.LeaseToken, CancellationToken.None));
        var record = (await Store.GetRunAsync(ids[0], CancellationToken.None))!;
        Assert.Equal((RunStatus.Queued, 0L, (string?)null), (record.Status, record.Attempt, record.LeaseToken));
        Assert.Equal(1, (await ClaimAsync("next"))!.Attempt);
    }

    [Fact]
    public async Task FailAsync_RetryableThenNonRetryable_RequeuesThenFailsAtOnce()
    {
        long[] ids = await _db.QueueAsync("fail", [TestDatabase.Synthetic(1)], maxAttempts: 3);
        var first = (await ClaimAsync("w"))!;
        Assert.True(await Store.FailAsync(first.RunId, first.LeaseToken, "transient", retryable: true, CancellationToken.None));
        Assert.Equal(RunStatus.Queued, (await Store.GetRunAsync(ids[0], CancellationToken.None))!.Status);

        var second = (await ClaimAsync("w"))!;
        Assert.Equal(2, second.Attempt);
        Assert.True(await Store.FailAsync(second.RunId, second.LeaseToken, "dataset missing: /x", retryable: false, CancellationToken.None));
        var record = (await Store.GetRunAsync(ids[0], CancellationToken.None))!;
        Assert.Equal((RunStatus.Failed, "dataset missing: /x"), (record.Status, record.Error));
    }

    [Fact]
    public async Task RequestCancelAsync_QueuedAndRunning_QueuedCancelledAtOnceRunningSeenAtHeartbeat()
    {
        long[] ids = await _db.QueueAsync("cancel", [TestDatabase.Synthetic(1), TestDatabase.Synthetic(2)]);
        var running = (await ClaimAsync("w"))!;
        Assert.True(await Store.RequestCancelAsync(ids[1], CancellationToken.None));
        Assert.True(await Store.RequestCancelAsync(ids[0], CancellationToken.None));

        Assert.Equal(RunStatus.Cancelled, (await Store.GetRunAsync(ids[1], CancellationToken.None))!.Status);
        var beat = await Store.HeartbeatAsync(running.RunId, running.LeaseToken, s_longLease, CancellationToken.None);
        Assert.True(beat!.CancelRequested);
        Assert.True(await Store.MarkCancelledAsync(running.RunId, running.LeaseToken, CancellationToken.None));
        Assert.Null(await ClaimAsync("w"));
    }

    [Fact]
    public async Task ClaimAsync_AfterCheckpoints_ReturnsTheLatestPosition()
    {
        await _db.QueueAsync("ckpt", [TestDatabase.Synthetic(1)]);
        var first = (await ClaimAsync("w", TimeSpan.FromMilliseconds(30)))!;
        Assert.Null(first.LastCheckpoint);
        var sink = Store.OpenSink(first);
        await sink.RecordCheckpointAsync(new CheckpointRecord(0, 1, 3, "/a", "aa"), CancellationToken.None);
        await sink.RecordCheckpointAsync(new CheckpointRecord(1, 0, 0, "/b", "bb"), CancellationToken.None);
        await sink.RecordCheckpointAsync(new CheckpointRecord(0, 1, 4, "/c", "cc"), CancellationToken.None);
        await Task.Delay(80);
        await Store.RescueExpiredAsync(CancellationToken.None);
        var second = (await ClaimAsync("w"))!;
        Assert.Equal(new CheckpointRecord(1, 0, 0, "/b", "bb"), second.LastCheckpoint);
    }
}
