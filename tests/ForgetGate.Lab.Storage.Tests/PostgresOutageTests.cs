using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Storage.Tests.Support;
using Xunit.Abstractions;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>
/// The database server goes away in the middle of a run (a real PostgreSQL cluster of the test's own, stopped with a
/// fast shutdown and started again). Short outages are ridden out inside the run; long ones give the run up, and it
/// resumes from its checkpoint once the server is back. Either way the rows equal an uninterrupted run's.
/// </summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class PostgresOutageTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _output;
    private readonly PostgresCluster _cluster = PostgresCluster.Start(durable: false);
    private readonly TestDatabase _db;
    private readonly List<WorkerProcess> _workers = [];

    public PostgresOutageTests(ITestOutputHelper output)
    {
        _output = output;
        _db = new TestDatabase(StoreKind.Postgres, cluster: _cluster);
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }

        _db.Dispose();
        _cluster.Dispose();
    }

    private WorkerProcess Start(double leaseSeconds, double heartbeatSeconds)
    {
        var worker = WorkerProcess.Start(_db, "--until-empty", leaseSeconds, heartbeatSeconds);
        _workers.Add(worker);
        return worker;
    }

    private double Progress(long runId) => _db.Scalar<double>("SELECT progress FROM runs WHERE id = @runId", new { runId });

    [Fact]
    public async Task Worker_ServerRestartsWithinTheLease_RunRidesItOutSameAttemptRowsMatchUninterrupted()
    {
        var config = TestDatabase.Synthetic(21, tasks: 3, epochs: 2, steps: 6, stepMs: 40);
        long baseline = (await _db.QueueAsync("outage-baseline", [config]))[0];
        await _db.RunInProcessAsync(baseline);
        long run = (await _db.QueueAsync("outage-short", [config]))[0];

        var worker = Start(leaseSeconds: 30, heartbeatSeconds: 0.5);
        await Wait.UntilAsync(() => Progress(run) >= 0.2, s_timeout, () => worker.Output);
        var clock = Stopwatch.StartNew();
        _cluster.Stop();
        await worker.WaitForLineAsync($"Run {run}: store unreachable while writing", s_timeout);
        await Task.Delay(1500);
        _cluster.Restart();
        double downSeconds = clock.Elapsed.TotalSeconds;

        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        string recovered = await worker.WaitForLineAsync($"Run {run}: store reachable again", TimeSpan.FromSeconds(1));
        Assert.Equal("succeeded", _db.Scalar<string>("SELECT status FROM runs WHERE id = @run", new { run }));
        Assert.Equal(1, _db.Scalar<long>("SELECT attempt FROM runs WHERE id = @run", new { run })); // the same attempt carried on
        Assert.Equal(1, _db.Scalar<long>("SELECT COUNT(*) FROM run_attempts WHERE run_id = @run", new { run }));
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(run));
        Assert.Equal(36, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal("ok", _db.IntegrityCheck());
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server down {downSeconds:F1}s mid-run (lease 30 s): {recovered.Trim()}"));
    }

    [Fact]
    public async Task Worker_ServerGoneLongerThanTheLease_RunGivenUpThenResumedFromCheckpointWhenBack()
    {
        var config = TestDatabase.Synthetic(22, tasks: 3, epochs: 2, steps: 6, stepMs: 40);
        long baseline = (await _db.QueueAsync("outage-baseline", [config]))[0];
        await _db.RunInProcessAsync(baseline);
        long run = (await _db.QueueAsync("outage-long", [config]))[0];

        var worker = Start(leaseSeconds: 1.5, heartbeatSeconds: 0.3);
        await Wait.UntilAsync(() => Progress(run) >= 0.2, s_timeout, () => worker.Output);
        _cluster.Stop();
        await worker.WaitForLineAsync($"Run {run}: the store refused a write", s_timeout);
        await worker.WaitForLineAsync("Store unavailable (Unavailable)", s_timeout); // the claim loop backs off
        Assert.False(worker.HasExited, worker.Output);
        _cluster.Restart();

        Assert.Equal(0, await worker.WaitForExitAsync(s_timeout));
        string resumed = await worker.WaitForLineAsync($"Claimed run {run} attempt 2", TimeSpan.FromSeconds(1));
        Assert.Contains("synthetic-", resumed, StringComparison.Ordinal); // from the checkpoint the first attempt recorded
        Assert.Equal("succeeded", _db.Scalar<string>("SELECT status FROM runs WHERE id = @run", new { run }));
        Assert.Equal(_db.Evaluations(baseline), _db.Evaluations(run));
        Assert.Equal(36, _db.Scalar<long>("SELECT COUNT(*) FROM training_curves WHERE run_id = @run", new { run }));
        Assert.Equal(18, _db.Scalar<long>("SELECT COUNT(*) FROM gate_telemetry WHERE run_id = @run", new { run }));
        Assert.Equal("ok", _db.IntegrityCheck());
        _output.WriteLine(resumed.Trim());
    }
}
