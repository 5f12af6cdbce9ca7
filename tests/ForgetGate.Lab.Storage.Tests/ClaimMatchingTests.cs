using System.Text.Json;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Batch claims (a <c>worker --gpu</c> taking runs of one shape together) on a real SQLite file.</summary>
public sealed class SqliteClaimMatchingTests() : ClaimMatchingTests(StoreKind.Sqlite);

/// <summary>Batch claims on a real PostgreSQL server.</summary>
public sealed class PostgresClaimMatchingTests() : ClaimMatchingTests(StoreKind.Postgres);

/// <summary>
/// <see cref="IRunStore.ClaimMatchingAsync"/>: the first run is the one a plain claim takes; further runs share its
/// key and keep queue order; non-matching runs stay queued; each claimed run has its own lease, attempt and audit row.
/// </summary>
public abstract class ClaimMatchingTests : IDisposable
{
    private static readonly TimeSpan s_lease = TimeSpan.FromMinutes(5);
    private readonly TestDatabase _db;

    protected ClaimMatchingTests(StoreKind kind) => _db = new TestDatabase(kind);

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private IRunStore Store => _db.Store;

    /// <summary>The test's batch key: the config's "shape" field (null: the run trains alone).</summary>
    private static string? ShapeOf(string configJson) =>
        JsonDocument.Parse(configJson).RootElement.TryGetProperty("shape", out var shape) ? shape.GetString() : null;

    private static Dictionary<string, object> Run(long seed, string? shape)
    {
        var config = TestDatabase.Synthetic(seed);
        if (shape is not null)
        {
            config["shape"] = shape;
        }

        return config;
    }

    private Task<IReadOnlyList<ClaimedRun>> ClaimAsync(int max, string owner = "gpu-worker") =>
        Store.ClaimMatchingAsync(new ClaimRequest(owner, s_lease), max, ShapeOf, CancellationToken.None);

    [Fact]
    public async Task ClaimMatchingAsync_MixedShapes_ClaimsOnlyTheFirstRunsShapeInQueueOrder()
    {
        long[] ids = await _db.QueueAsync("mixed", [Run(1, "A"), Run(2, "B"), Run(3, "A"), Run(4, "A"), Run(5, "B"), Run(6, "A"), Run(7, "A")]);

        var first = await ClaimAsync(3);
        Assert.Equal([ids[0], ids[2], ids[3]], first.Select(r => r.RunId));
        Assert.Equal("queued", _db.Scalar<string>("SELECT status FROM runs WHERE id = @id", new { id = ids[1] })); // B was skipped, not taken

        var second = await ClaimAsync(10);
        Assert.Equal([ids[1], ids[4]], second.Select(r => r.RunId));
        var third = await ClaimAsync(10);
        Assert.Equal([ids[5], ids[6]], third.Select(r => r.RunId));
        Assert.Empty(await ClaimAsync(10));

        // Each run is claimed as a plain claim would claim it: running, attempt 1, its own token, one audit row.
        var all = first.Concat(second).Concat(third).ToList();
        Assert.Equal(all.Count, all.Select(r => r.LeaseToken).Distinct().Count());
        foreach (var run in all)
        {
            var record = (await Store.GetRunAsync(run.RunId, CancellationToken.None))!;
            Assert.Equal(RunStatus.Running, record.Status);
            Assert.Equal(1, run.Attempt);
            Assert.Equal(1, record.Attempt);
            Assert.Equal(run.LeaseToken, record.LeaseToken);
            Assert.Equal("gpu-worker", record.LeaseOwner);
            var attempts = await Store.GetAttemptsAsync(run.RunId, CancellationToken.None);
            Assert.Equal(1, Assert.Single(attempts).Attempt);
        }

        // Leases are per run: one run's heartbeat, failure and cancellation touch no other run of its batch.
        Assert.NotNull(await Store.HeartbeatAsync(first[1].RunId, first[1].LeaseToken, s_lease, CancellationToken.None));
        Assert.Null(await Store.HeartbeatAsync(first[1].RunId, first[0].LeaseToken, s_lease, CancellationToken.None));
        Assert.True(await Store.FailAsync(first[0].RunId, first[0].LeaseToken, "boom", retryable: true, CancellationToken.None));
        Assert.True(await Store.RequestCancelAsync(first[2].RunId, CancellationToken.None));
        Assert.Equal(RunStatus.Queued, (await Store.GetRunAsync(first[0].RunId, CancellationToken.None))!.Status);
        Assert.Equal(RunStatus.Running, (await Store.GetRunAsync(first[1].RunId, CancellationToken.None))!.Status);
        Assert.False((await Store.HeartbeatAsync(first[1].RunId, first[1].LeaseToken, s_lease, CancellationToken.None))!.CancelRequested);
        Assert.True((await Store.HeartbeatAsync(first[2].RunId, first[2].LeaseToken, s_lease, CancellationToken.None))!.CancelRequested);
    }

    [Fact]
    public async Task ClaimMatchingAsync_NullKeyOrBatchOfOne_ClaimsTheFirstRunAlone()
    {
        long[] ids = await _db.QueueAsync("alone", [Run(1, null), Run(2, null), Run(3, "A"), Run(4, "A")]);
        Assert.Equal([ids[0]], (await ClaimAsync(4)).Select(r => r.RunId)); // no key: trains alone, even though another keyless run waits
        Assert.Equal([ids[1]], (await ClaimAsync(4)).Select(r => r.RunId));
        Assert.Equal([ids[2]], (await ClaimAsync(1)).Select(r => r.RunId));
        Assert.Equal([ids[3]], (await ClaimAsync(4)).Select(r => r.RunId));
    }

    [Fact]
    public async Task ClaimMatchingAsync_CancelledOrOtherSweepsRuns_AreNotClaimed()
    {
        long[] other = await _db.QueueAsync("other", [Run(10, "A")], priority: -1);
        long[] ids = await _db.QueueAsync("mine", [Run(1, "A"), Run(2, "A"), Run(3, "A")]);
        Assert.True(await Store.RequestCancelAsync(ids[1], CancellationToken.None));
        long sweep = (await Store.GetRunAsync(ids[0], CancellationToken.None))!.SweepId;
        var claimed = await Store.ClaimMatchingAsync(new ClaimRequest("w", s_lease, SweepId: sweep), 8, ShapeOf, CancellationToken.None);
        Assert.Equal([ids[0], ids[2]], claimed.Select(r => r.RunId));
        Assert.Equal(RunStatus.Cancelled, (await Store.GetRunAsync(ids[1], CancellationToken.None))!.Status);
        Assert.Equal(RunStatus.Queued, (await Store.GetRunAsync(other[0], CancellationToken.None))!.Status);

        // Without the sweep limit the queue's next run decides the key: the B runs come first (priority 0), the A run of
        // the other sweep (priority -1) is not of their shape and stays queued.
        long[] more = await _db.QueueAsync("more", [Run(1, "B"), Run(2, "B")]);
        Assert.Equal(more, (await ClaimAsync(8)).Select(r => r.RunId));
        Assert.Equal(RunStatus.Queued, (await Store.GetRunAsync(other[0], CancellationToken.None))!.Status);
    }
}
