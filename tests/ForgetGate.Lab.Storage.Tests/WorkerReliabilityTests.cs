using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Storage.Tests.Support;
using Xunit.Abstractions;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>The store's reliability scenarios on a real SQLite file.</summary>
public sealed class SqliteWorkerReliabilityTests(ITestOutputHelper output) : WorkerReliabilityTests(StoreKind.Sqlite, output);

/// <summary>The same scenarios on a real PostgreSQL server (a throwaway cluster on a loopback port).</summary>
public sealed class PostgresWorkerReliabilityTests(ITestOutputHelper output) : WorkerReliabilityTests(StoreKind.Postgres, output);

/// <summary>
/// The reliability scenarios of the store, written once and run against each provider, with real
/// <c>forgetgate worker</c> processes: exactly-once claims, kill -9 and resume, zombie fencing, SIGTERM, poison
/// runs, non-retryable failures (bad specs), cancellation, concurrent migration.
/// </summary>
[Collection(WorkerProcessGroup.Name)]
public abstract class WorkerReliabilityTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(45);
    private readonly ITestOutputHelper _output;
    private readonly TestDatabase _db;
    private readonly List<WorkerProcess> _workers = [];

    protected WorkerReliabilityTests(StoreKind kind, ITestOutputHelper output)
    {
        Kind = kind;
        _output = output;
        _db = new TestDatabase(kind);
    }

    private StoreKind Kind { get; }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }

        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private WorkerProcess Start(string extra = "", double leaseSeconds = 1.5, double heartbeatSeconds = 0.3, IDictionary<string, string>? environment = null, string? program = null)
    {
        var worker = WorkerProcess.Start(_db, extra, leaseSeconds, heartbeatSeconds, environment, program);
        _workers.Add(worker);
        return worker;
    }

    private string Status(long runId) => _db.Scalar<string>("SELECT status FROM runs WHERE id = @runId", new { runId });

    private double Progress(long runId) => _db.Scalar<double>("SELECT progress FROM runs WHERE id = @runId", new { runId });

    private void Print(string text) => _output.WriteLine($"[{Kind}] {text}");

    [Fact]
    public async Task Worker_ThreeProcessesSixtyRuns_EveryRunExecutedExactlyOnce()
    {
        long[] ids = await _db.QueueAsync("drain", Enumerable.Range(0, 60).Select(i => TestDatabase.Synthetic(i, tasks: 1, epochs: 1, steps: 2, stepMs: 5)));
        var clock = Stopwatch.StartNew();
        // A long lease: no run may be rescued here, so every extra claim would be a double claim.
        WorkerProcess[] workers = [Start("--until-empty", leaseSeconds: 10, heartbeatSeconds: 1), Start("--until-empty", leaseSeconds: 10, heartbeatSeconds: 1), Start("--until-empty", leaseSeconds: 10, heartbeatSeconds: 1)];
        foreach (var worker in workers)
        {
            Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        }

        double seconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status = 'succeeded' AND attempt = 1"));

        // Exactly once: one claim per run ever (run_attempts audits every claim), one lease token per claim.
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(*) FROM run_attempts"));
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(DISTINCT run_id) FROM run_attempts"));
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(DISTINCT lease_token) FROM run_attempts"));
        // Every run complete: 2 curve points, 1 evaluation row, 1 summary.
        Assert.Equal(120, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves"));
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(*) FROM evaluations"));
        Assert.Equal(60, _db.Scalar<long>("SELECT COUNT(*) FROM run_summaries"));
        // The work was shared: every process claimed something.
        var perOwner = _db.Query<(string Owner, long Claims)>("SELECT lease_owner, COUNT(*) FROM run_attempts GROUP BY lease_owner");
        Assert.Equal(3, perOwner.Count);
        Assert.Equal("ok", _db.IntegrityCheck());

        var claimTimes = _db.Query<string>("SELECT claimed_at FROM run_attempts ORDER BY claimed_at").Select(t => DateTime.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)).ToList();
        double claimSpan = (claimTimes[^1] - claimTimes[0]).TotalSeconds;
        Print(string.Create(CultureInfo.InvariantCulture, $"3 workers, 60 runs: wall {seconds:F2}s (incl. process start-up), claims spread over {claimSpan:F2}s = {60 / claimSpan:F0} runs/s end-to-end; per worker {string.Join(", ", perOwner.Select(p => p.Claims))}"));
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public async Task Worker_Kill9MidRun_AnotherWorkerResumesAndMatchesUninterrupted()
    {
        // 120 ms steps: the run lasts about 3 s, so after progress 0.3 is seen there are 2 s left for the kill to land.
        // With 40 ms steps (1 s in all) a loaded CI machine sometimes saw 0.3 late and the first worker finished the run
        // before the kill, and the second worker then found nothing to claim.
        var config = TestDatabase.Synthetic(42, tasks: 3, epochs: 2, steps: 4, stepMs: 120);
        long baseline = (await _db.QueueAsync("baseline", [config]))[0];
        await _db.RunInProcessAsync(baseline);
        long run = (await _db.QueueAsync("killed", [config]))[0];

        var first = Start();
        await Wait.UntilAsync(() => Progress(run) >= 0.3, s_timeout, () => first.Output);
        var killedAt = Stopwatch.StartNew();
        first.KillHard();
        await first.WaitForExitAsync(s_timeout);
        long checkpointsBefore = _db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = @run", new { run });
        Assert.True(Status(run) == "running", $"the kill must land mid-run, but run {run} is already {Status(run)}");

        var second = Start("--until-empty");
        string claimed = await second.WaitForLineAsync($"Claimed run {run} attempt 2", s_timeout);
        double resumeSeconds = killedAt.Elapsed.TotalSeconds;
        Assert.Equal(0, await second.WaitForExitAsync(s_timeout));
        double doneSeconds = killedAt.Elapsed.TotalSeconds;

        Assert.Contains("synthetic-", claimed, StringComparison.Ordinal); // resumed from a checkpoint, not from the start
        Assert.True(checkpointsBefore > 0);
        Assert.Equal("succeeded", Status(run));
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(run));
        Assert.Equal(3 * 2 * 3, _db.Evaluations(run).Count);
        Assert.Equal(24, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal(3 * 2 * 3, _db.Scalar<long>("SELECT COUNT(*) FROM gate_telemetry WHERE run_id = @run", new { run }));
        Assert.Equal(
            _db.Scalar<double>("SELECT value FROM run_summaries WHERE run_id = @baseline", new { baseline }),
            _db.Scalar<double>("SELECT value FROM run_summaries WHERE run_id = @run", new { run }));
        Assert.Equal("ok", _db.IntegrityCheck());
        Print(string.Create(CultureInfo.InvariantCulture, $"kill -9 at progress ≥ 0.3 (lease 1.5 s): claimed by a new worker after {resumeSeconds:F2}s (process start + lease expiry + rescue), run finished {doneSeconds:F2}s after the kill; {checkpointsBefore} checkpoints survived"));
    }

    [Fact]
    public async Task Worker_StoppedPastItsLease_ItsWritesAreFencedOutAfterSigcont()
    {
        var config = TestDatabase.Synthetic(7, tasks: 2, epochs: 2, steps: 10, stepMs: 60);
        long run = (await _db.QueueAsync("zombie", [config]))[0];
        var zombie = Start("--until-empty", leaseSeconds: 1, heartbeatSeconds: 0.25);
        await Wait.UntilAsync(() => Progress(run) >= 0.1, s_timeout, () => zombie.Output);
        zombie.Signal(WorkerProcess.SigStop);

        var thief = Start("--until-empty", leaseSeconds: 1, heartbeatSeconds: 0.25);
        await thief.WaitForLineAsync($"Claimed run {run} attempt 2", s_timeout);
        string stolenAt = _db.Scalar<string>("SELECT claimed_at FROM run_attempts WHERE run_id = @run AND attempt = 2", new { run });
        zombie.Signal(WorkerProcess.SigCont);

        await zombie.WaitForLineAsync($"Run {run} lost its lease", s_timeout);
        Assert.Equal("running", Status(run)); // the thief still owns it: the zombie woke while the run was live
        Assert.Equal(0, await thief.WaitForExitAsync(s_timeout));
        Assert.Equal(0, await zombie.WaitForExitAsync(s_timeout));

        // Fenced: after the steal, no checkpoint row carries the zombie's attempt, and the run finished under the thief.
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = @run AND attempt = 1 AND created_at >= @stolenAt", new { run, stolenAt }));
        Assert.Equal("succeeded", Status(run));
        Assert.Equal(2, _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @run", new { run }));
        Assert.DoesNotContain($"Run {run} succeeded", zombie.Output, StringComparison.Ordinal);

        long baseline = (await _db.QueueAsync("zombie-baseline", [config]))[0];
        await _db.RunInProcessAsync(baseline);
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(run));
        Assert.Equal(40, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal("ok", _db.IntegrityCheck());
    }

    [Fact]
    public async Task Worker_Sigterm_CheckpointsReleasesAndAnotherWorkerContinuesAtOnce()
    {
        var config = TestDatabase.Synthetic(11, tasks: 3, epochs: 2, steps: 4, stepMs: 50);
        long run = (await _db.QueueAsync("sigterm", [config]))[0];
        // A long lease: the second worker can only claim at once if the first really released the run.
        var first = Start(leaseSeconds: 30, heartbeatSeconds: 1);
        await Wait.UntilAsync(() => Progress(run) >= 0.25, s_timeout, () => first.Output);
        var clock = Stopwatch.StartNew();
        first.Signal(WorkerProcess.SigTerm);
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        double exitSeconds = clock.Elapsed.TotalSeconds;
        Assert.Contains($"Run {run} released back to the queue on shutdown (released: True)", first.Output, StringComparison.Ordinal);
        Assert.Equal(("queued", 0L), (Status(run), _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @run", new { run })));
        long checkpoints = _db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = @run", new { run });
        Assert.True(checkpoints >= 6, $"expected ≥ 6 checkpoints (progress ≥ 0.25 of 24 steps), found {checkpoints}");

        clock.Restart();
        var second = Start("--until-empty", leaseSeconds: 30, heartbeatSeconds: 1);
        string claimed = await second.WaitForLineAsync($"Claimed run {run} attempt 1", TimeSpan.FromSeconds(15));
        double claimSeconds = clock.Elapsed.TotalSeconds;
        Assert.Contains("synthetic-", claimed, StringComparison.Ordinal);
        Assert.Equal(0, await second.WaitForExitAsync(s_timeout));

        long baseline = (await _db.QueueAsync("sigterm-baseline", [config]))[0];
        await _db.RunInProcessAsync(baseline);
        Assert.Equal("succeeded", Status(run));
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(run));
        Assert.Equal("ok", _db.IntegrityCheck());
        Print(string.Create(CultureInfo.InvariantCulture, $"SIGTERM → exit {exitSeconds:F2}s; new worker claimed (attempt still 1) {claimSeconds:F2}s after start, resuming from checkpoint {checkpoints}"));
    }

    [Fact]
    public async Task Worker_RunCrashingTheProcessEveryTime_FailedAfterMaxAttemptsOthersComplete()
    {
        var poison = TestDatabase.Synthetic(666, tasks: 1, epochs: 1, steps: 3, stepMs: 5);
        poison["crash_at_step"] = 1;
        long poisonId = (await _db.QueueAsync("poison", [poison], priority: 1, maxAttempts: 3))[0];
        long[] good = await _db.QueueAsync("good", Enumerable.Range(0, 4).Select(i => TestDatabase.Synthetic(i, tasks: 1, epochs: 1, steps: 2, stepMs: 5)));

        int starts = 0, crashes = 0;
        while (_db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')") > 0)
        {
            Assert.True(++starts <= 8, $"queue not drained after {starts - 1} worker starts");
            var worker = Start("--until-empty", leaseSeconds: 1, heartbeatSeconds: 0.25);
            crashes += await worker.WaitForExitAsync(s_timeout) != 0 ? 1 : 0;
        }

        Assert.Equal(3, crashes);
        Assert.Equal("failed", Status(poisonId));
        Assert.Equal("lease expired after 3 attempts", _db.Scalar<string>("SELECT error FROM runs WHERE id = @poisonId", new { poisonId }));
        Assert.Equal(3, _db.Scalar<long>("SELECT COUNT(*) FROM run_attempts WHERE run_id = @poisonId", new { poisonId }));
        Assert.All(good, id => Assert.Equal("succeeded", Status(id)));
        Assert.Equal("ok", _db.IntegrityCheck());
    }

    [Fact]
    public async Task Worker_PoisonRunBesideAnInnocentOneInTwoSlots_InnocentSucceedsAndPoisonFailsAfterMaxAttemptsAlone()
    {
        // Two slots in one process: the poison run kills the process (FailFast) about a second in, taking the innocent
        // run in the other slot down with it. The rule (RunStore.RescueExpiredAsync): an expired lease from a shared
        // process is not counted and quarantines the run; a quarantined run is claimed only by a process that runs
        // nothing else beside it, and only crashes while alone count.
        var poison = TestDatabase.Synthetic(666, tasks: 1, epochs: 1, steps: 20, stepMs: 100);
        poison["crash_at_step"] = 8;
        long poisonId = (await _db.QueueAsync("poison-shared", [poison], priority: 1, maxAttempts: 3))[0];
        var innocentConfig = TestDatabase.Synthetic(7, tasks: 2, epochs: 2, steps: 5, stepMs: 100);
        long innocent = (await _db.QueueAsync("innocent", [innocentConfig]))[0];

        var workers = new List<WorkerProcess>();
        while (_db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')") > 0)
        {
            Assert.True(workers.Count < 8, $"queue not drained after {workers.Count} worker starts");
            var worker = Start("--until-empty --concurrency 2", leaseSeconds: 1, heartbeatSeconds: 0.25);
            workers.Add(worker);
            await worker.WaitForExitAsync(s_timeout);
        }

        // The first process held both runs when it died (the test's premise: both claimed in one shared process).
        Assert.True(workers[0].HasLine($"Claimed run {poisonId} attempt 1/3") && workers[0].HasLine($"Claimed run {innocent} attempt 1/3"), workers[0].Output);
        Assert.Equal(4, workers.Count(w => w.ExitCode != 0)); // 1 shared crash (forgiven) + 3 crashes alone (counted)
        Assert.Equal(0, workers[^1].ExitCode);

        // The poison run: failed after max_attempts, each counted attempt a crash while alone; the shared one was forgiven.
        Assert.Equal(("failed", 3L, "lease expired after 3 attempts"), (Status(poisonId), _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @poisonId", new { poisonId }), _db.Scalar<string>("SELECT error FROM runs WHERE id = @poisonId", new { poisonId })));
        Assert.Equal(
            ["1 shared=1 quarantined=0", "1 shared=0 quarantined=1", "2 shared=0 quarantined=1", "3 shared=0 quarantined=1"],
            Attempts(poisonId));

        // The innocent run: its shared crash cost nothing; it ran alone next and succeeded on attempt 1, from its checkpoint.
        Assert.Equal(("succeeded", 1L), (Status(innocent), _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @innocent", new { innocent })));
        Assert.Equal(["1 shared=1 quarantined=0", "1 shared=0 quarantined=1"], Attempts(innocent));
        long baseline = (await _db.QueueAsync("innocent-baseline", [innocentConfig]))[0];
        await _db.RunInProcessAsync(baseline);
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(innocent));
        Assert.Equal(20, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @innocent", new { innocent }));
        Assert.Equal("ok", _db.IntegrityCheck());
    }

    /// <summary>A run's claims in order as "attempt shared=S quarantined=Q".</summary>
    private List<string> Attempts(long runId) =>
        _db.Query<(long Attempt, long Shared, long Quarantined)>("SELECT attempt, shared, quarantined FROM run_attempts WHERE run_id = @runId ORDER BY claimed_at, attempt", new { runId })
            .Select(a => $"{a.Attempt} shared={a.Shared} quarantined={a.Quarantined}")
            .ToList();

    [Fact]
    public async Task Worker_NonRetryableFailures_FailedAtOnceWithMessageAndWorkerGoesOn()
    {
        var missing = TestDatabase.Synthetic(1);
        missing["fail"] = "dataset not found: /data/fashion-mnist/train-images-idx3-ubyte.gz";
        var badSpec = TestDatabase.Synthetic(2);
        badSpec["tasks"] = 0;
        var unknown = TestDatabase.Synthetic(3);
        unknown["executor"] = "no-such-engine";
        long[] bad = await _db.QueueAsync("bad", [missing, badSpec, unknown], priority: 1);
        long[] good = await _db.QueueAsync("good", [TestDatabase.Synthetic(10), TestDatabase.Synthetic(11)]);

        var worker = Start("--until-empty");
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));

        var failed = _db.Query<(long Id, string Status, long Attempt, string Error)>("SELECT id, status, attempt, error FROM runs WHERE sweep_id = (SELECT sweep_id FROM runs WHERE id = @id) ORDER BY id", new { id = bad[0] });
        Assert.All(failed, r => Assert.Equal(("failed", 1L), (r.Status, r.Attempt)));
        Assert.Equal("dataset not found: /data/fashion-mnist/train-images-idx3-ubyte.gz", failed[0].Error);
        Assert.Equal("config field 'tasks' = 0: expected 1..100.", failed[1].Error);
        Assert.Contains("'executor' = 'no-such-engine' names no registered executor; known: synthetic", failed[2].Error, StringComparison.Ordinal);
        Assert.All(good, id => Assert.Equal("succeeded", Status(id)));
    }

    [Fact]
    public async Task ShippedWorker_ConfigNamingAnUnknownExecutor_FailsNonRetryablyAndTheSameProcessFinishesATrainingRun()
    {
        // The shipped program, not the tests' worker: "synthetic" is test code (tests/ForgetGate.Lab.TestWorker), so to
        // the product it is as unknown as any other name a queued config might carry.
        long unknown = (await _db.QueueAsync("unknown-executor", [TestDatabase.Synthetic(1)], priority: 1))[0];
        string spec = Path.Combine(_db.Directory, "tiny-drift.yaml");
        File.WriteAllText(spec, TinyDriftSpec);
        var queued = await CliCommandTests.RunProgramAsync(TestDatabase.CliDll, "queue", spec, "--db", _db.Db);
        Assert.True(queued.ExitCode == 0, queued.Stderr);
        long training = _db.Scalar<long>("SELECT MAX(id) FROM runs");

        var worker = Start("--until-empty", leaseSeconds: 10, heartbeatSeconds: 1, program: TestDatabase.CliDll);
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));

        string expected = $"Run {unknown}: config field 'executor' = 'synthetic' names no registered executor; known: training.";
        Assert.Equal(("failed", 1L, expected), (Status(unknown), _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @unknown", new { unknown }), _db.Scalar<string>("SELECT error FROM runs WHERE id = @unknown", new { unknown })));
        Assert.Contains($"Run {unknown} failed (non-retryable): {expected}", worker.Output, StringComparison.Ordinal);
        // The same process went on: it claimed the unknown one first (priority 1), then trained the real run to the end.
        int failedAt = worker.Output.IndexOf($"Run {unknown} failed", StringComparison.Ordinal);
        int trainedAt = worker.Output.IndexOf($"Run {training} succeeded", StringComparison.Ordinal);
        Assert.True(failedAt >= 0 && trainedAt > failedAt, worker.Output);
        Assert.Equal(("succeeded", 1L), (Status(training), _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @training", new { training })));
        Assert.Equal(1L, _db.Scalar<long>("SELECT COUNT(DISTINCT lease_owner) FROM run_attempts"));
        // R is complete: rows 0 (untrained), 1 and 2, each scoring both tasks.
        Assert.Equal(3 * 2, _db.Scalar<long>("SELECT COUNT(DISTINCT after_task * 100 + eval_task) FROM evaluations WHERE run_id = @training", new { training }));
    }

    /// <summary>A real training spec small enough to train in about a second: no dataset needed (generated series).</summary>
    internal const string TinyDriftSpec = """
        name: tiny-drift
        scenario:
          kind: drift
          tasks: 2
          train_per_task: 64
          test_per_task: 32
          window: 8
        model:
          variant: lstm
          hidden: 8
        training:
          batch_size: 32
          eval_every_epoch: false
        """;

    [Fact]
    public async Task Worker_CancelRequestedWhileRunning_RunCancelledAtNextHeartbeatAndWorkerGoesOn()
    {
        long run = (await _db.QueueAsync("cancel", [TestDatabase.Synthetic(5, tasks: 2, epochs: 2, steps: 20, stepMs: 50)], priority: 1))[0];
        long other = (await _db.QueueAsync("after", [TestDatabase.Synthetic(6)]))[0];
        var worker = Start("--until-empty");
        await Wait.UntilAsync(() => Progress(run) > 0.05, s_timeout, () => worker.Output);
        Assert.True(await _db.Store.RequestCancelAsync(run, CancellationToken.None));
        await worker.WaitForLineAsync($"Run {run} cancelled on request", s_timeout);
        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        Assert.Equal("cancelled", Status(run));
        Assert.True(Progress(run) < 1);
        Assert.Equal("succeeded", Status(other));
    }

    [Fact]
    public async Task Worker_ThreeProcessesMigratingAnEmptyStoreAtOnce_OneSchemaNoError()
    {
        using var empty = new TestDatabase(Kind, migrate: false);
        Assert.False(empty.TableExists("schema_version"));
        int scripts = SqlDialect.Scripts(Kind == StoreKind.Postgres ? "Postgres" : "Sqlite").Count();
        Assert.True(scripts >= 2);
        var workers = Enumerable.Range(0, 3).Select(_ => WorkerProcess.Start(empty, "--until-empty")).ToList();
        _workers.AddRange(workers);
        foreach (var worker in workers)
        {
            Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        }

        Assert.Equal(1, workers.Count(w => w.HasLine($"Applied {scripts} migration(s)")));
        Assert.Equal(2, workers.Count(w => w.HasLine("Applied 0 migration(s)")));
        Assert.Equal(scripts, empty.Scalar<long>("SELECT COUNT(*) FROM schema_version"));
        Assert.True(empty.TableExists("runs"));
        Assert.Equal("ok", empty.IntegrityCheck());
    }
}
