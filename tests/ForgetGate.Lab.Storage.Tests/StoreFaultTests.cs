using Dapper;
using ForgetGate.Lab.Storage.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Read-only and full databases: the worker says why, stops claiming, nothing is corrupted, and it recovers.</summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class StoreFaultTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(45);
    private readonly List<IDisposable> _cleanup = [];

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        for (int i = _cleanup.Count - 1; i >= 0; i--)
        {
            _cleanup[i].Dispose();
        }
    }

    private T Track<T>(T item)
        where T : IDisposable
    {
        _cleanup.Add(item);
        return item;
    }

    [Fact]
    public async Task Worker_ReadOnlyDatabase_SaysSoStopsClaimingAndRecoversWhenWritable()
    {
        var mount = Track(Tmpfs.TryMount(16) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN)."));
        var db = new TestDatabase(Path.Combine(mount.Path, "db"), checkpointRoot: Path.Combine(Path.GetTempPath(), "fg-ckpt-" + Guid.NewGuid().ToString("N")));
        long[] ids = await db.QueueAsync("ro", Enumerable.Range(0, 3).Select(i => TestDatabase.Synthetic(i)));
        SqliteConnection.ClearAllPools();
        mount.Remount("ro");

        var worker = Track(WorkerProcess.Start(db, "--until-empty"));
        string line = await worker.WaitForLineAsync("Store unavailable (ReadOnly)", s_timeout);
        Assert.Contains("the database is read-only", line, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.False(worker.HasExited, worker.Output);
        Assert.False(worker.HasLine("Claimed run"), worker.Output);

        mount.Remount("rw");
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        Assert.Contains("Store is writable again", worker.Output, StringComparison.Ordinal);
        Assert.All(ids, id => Assert.Equal("succeeded", db.Scalar<string>("SELECT status FROM runs WHERE id = @id", new { id })));
        Assert.Equal("ok", db.IntegrityCheck());
        Track(db);
    }

    [Fact]
    public async Task Worker_DiskFull_SaysSoStopsClaimingAndRecoversWhenSpaceReturns()
    {
        var mount = Track(Tmpfs.TryMount(8) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN)."));
        var db = new TestDatabase(Path.Combine(mount.Path, "db"), checkpointRoot: Path.Combine(Path.GetTempPath(), "fg-ckpt-" + Guid.NewGuid().ToString("N")));
        long[] ids = await db.QueueAsync("full", Enumerable.Range(0, 4).Select(i => TestDatabase.Synthetic(i, tasks: 2, epochs: 2, steps: 3)));
        using (var connection = db.Open())
        {
            // Empty the WAL so the worker's first write must allocate disk space.
            connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        SqliteConnection.ClearAllPools();
        string filler = mount.Fill();

        var worker = Track(WorkerProcess.Start(db, "--until-empty"));
        string line = await worker.WaitForLineAsync("Store unavailable (Full)", s_timeout);
        Assert.Contains("the database or its disk is full", line, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.False(worker.HasExited, worker.Output);

        File.Delete(filler);
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        Assert.All(ids, id => Assert.Equal("succeeded", db.Scalar<string>("SELECT status FROM runs WHERE id = @id", new { id })));
        Assert.All(ids, id => Assert.Equal(2 * 2 * 2, db.Evaluations(id).Count));
        Assert.Equal("ok", db.IntegrityCheck());
        Track(db);
    }

    [Fact]
    public async Task Worker_DiskFillsMidRun_RunAbandonedThenResumedWithCompleteRowsWhenSpaceReturns()
    {
        var mount = Track(Tmpfs.TryMount(8) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN)."));
        var db = new TestDatabase(Path.Combine(mount.Path, "db"), checkpointRoot: Path.Combine(Path.GetTempPath(), "fg-ckpt-" + Guid.NewGuid().ToString("N")));
        var config = TestDatabase.Synthetic(3, tasks: 2, epochs: 2, steps: 12, stepMs: 40);
        long baseline = (await db.QueueAsync("full-baseline", [config]))[0];
        await db.RunInProcessAsync(baseline);
        long run = (await db.QueueAsync("full-mid-run", [config]))[0];
        SqliteConnection.ClearAllPools();

        var worker = Track(WorkerProcess.Start(db, "--until-empty", leaseSeconds: 1, heartbeatSeconds: 0.25));
        await Wait.UntilAsync(() => db.Scalar<double>("SELECT progress FROM runs WHERE id = @run", new { run }) >= 0.2, s_timeout, () => worker.Output);
        SqliteConnection.ClearAllPools();
        string filler = mount.Fill();
        await worker.WaitForLineAsync($"Run {run}: the store refused a write", s_timeout);
        Assert.False(worker.HasExited, worker.Output);

        File.Delete(filler);
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        Assert.Contains($"Claimed run {run} attempt 2/3 (slot 0, resume from", worker.Output, StringComparison.Ordinal);
        Assert.Equal("succeeded", db.Scalar<string>("SELECT status FROM runs WHERE id = @run", new { run }));
        Assert.Equal(db.Evaluations(baseline), db.Evaluations(run));
        Assert.Equal(48, db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal("ok", db.IntegrityCheck());
        Track(db);
    }

    [Fact]
    public async Task Worker_CheckpointDiskFillsMidRun_RunReleasedWithoutSpendingAnAttemptAndResumedFromItsCheckpointWhenSpaceReturns()
    {
        // The store is fine; only the checkpoint folder (a small tmpfs) fills up, for real (ENOSPC from the kernel).
        var mount = Track(Tmpfs.TryMount(8) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN)."));
        var db = new TestDatabase(checkpointRoot: Path.Combine(mount.Path, "checkpoints"));
        var config = TestDatabase.Synthetic(5, tasks: 2, epochs: 2, steps: 12, stepMs: 40);
        long baseline = (await db.QueueAsync("ckpt-full-baseline", [config]))[0];
        await db.RunInProcessAsync(baseline);
        long run = (await db.QueueAsync("ckpt-full", [config]))[0];

        var worker = Track(WorkerProcess.Start(db, "--until-empty", leaseSeconds: 1, heartbeatSeconds: 0.25));
        await Wait.UntilAsync(() => db.Scalar<double>("SELECT progress FROM runs WHERE id = @run", new { run }) >= 0.2, s_timeout, () => worker.Output);
        string filler = mount.Fill();
        string outage = await worker.WaitForLineAsync($"Run {run}: checkpoint storage '", s_timeout);
        Assert.Contains("is full (No space left on device", outage, StringComparison.Ordinal);
        Assert.Contains("released without spending an attempt (released: True)", outage, StringComparison.Ordinal);
        await worker.WaitForLineAsync("Checkpoint storage unavailable", s_timeout);

        // Backing off, not claiming: still one claim after several lease lengths, the run queued with no attempt spent.
        await Task.Delay(2500);
        Assert.False(worker.HasExited, worker.Output);
        Assert.Equal(("queued", 0L, 1L), (db.Scalar<string>("SELECT status FROM runs WHERE id = @run", new { run }), db.Scalar<long>("SELECT attempt FROM runs WHERE id = @run", new { run }), db.Scalar<long>("SELECT COUNT(*) FROM run_attempts WHERE run_id = @run", new { run })));
        long checkpoints = db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = @run", new { run });
        Assert.True(checkpoints >= 9, $"expected the checkpoints of progress ≥ 0.2 (≥ 9 of 48 steps) to be recorded, found {checkpoints}");

        File.Delete(filler);
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        Assert.Contains("is writable again; claiming resumes", worker.Output, StringComparison.Ordinal);
        string second = worker.Output.Split('\n').Where(l => l.Contains($"Claimed run {run} attempt 1/3", StringComparison.Ordinal)).Last();
        Assert.Contains("synthetic-", second, StringComparison.Ordinal); // resumed from its last checkpoint, not from the start
        Assert.Equal(("succeeded", 1L, 2L), (db.Scalar<string>("SELECT status FROM runs WHERE id = @run", new { run }), db.Scalar<long>("SELECT attempt FROM runs WHERE id = @run", new { run }), db.Scalar<long>("SELECT COUNT(*) FROM run_attempts WHERE run_id = @run", new { run })));
        Assert.Equal(db.Evaluations(baseline), db.Evaluations(run));
        Assert.Equal(48, db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal("ok", db.IntegrityCheck());
        Track(db);
    }
}
