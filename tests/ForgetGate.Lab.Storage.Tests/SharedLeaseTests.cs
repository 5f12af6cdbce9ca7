using System.Text.Json;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>The fair-attempt rule on a real SQLite file.</summary>
public sealed class SqliteSharedLeaseTests() : SharedLeaseTests(StoreKind.Sqlite);

/// <summary>The fair-attempt rule on a real PostgreSQL server.</summary>
public sealed class PostgresSharedLeaseTests() : SharedLeaseTests(StoreKind.Postgres);

/// <summary>
/// The store's half of the fair-attempt rule (issue 17; <c>RunStore.RescueExpiredAsync</c>): an expired shared lease is
/// not counted and quarantines the run; a quarantined run is claimed only by a claim that allows it, never shared and
/// never in a batch, and its later expiries count. The worker's half (who may claim what) is shown with real processes
/// in <c>WorkerReliabilityTests.Worker_PoisonRunBesideAnInnocentOneInTwoSlots_…</c>.
/// </summary>
public abstract class SharedLeaseTests : IDisposable
{
    private static readonly TimeSpan s_shortLease = TimeSpan.FromSeconds(0.5);
    private readonly TestDatabase _db;

    protected SharedLeaseTests(StoreKind kind) => _db = new TestDatabase(kind);

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private (string Status, long Attempt, long Quarantined, long LeaseShared) Row(long id) =>
        _db.Query<(string, long, long, long)>("SELECT status, attempt, quarantined, lease_shared FROM runs WHERE id = @id", new { id }).Single();

    private async Task ExpireAndRescueAsync(int expected)
    {
        await Task.Delay(s_shortLease * 3);
        Assert.Equal(expected, await _db.Store.RescueExpiredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task RescueExpired_SharedLeaseForgivenAndQuarantined_ThenClaimedOnlyWhenAllowedAndCountedAlone()
    {
        long id = (await _db.QueueAsync("shared", [TestDatabase.Synthetic(1)], maxAttempts: 2))[0];
        var shared = await _db.Store.ClaimAsync(new ClaimRequest("two-slots", s_shortLease, Shared: true), CancellationToken.None);
        Assert.Equal((id, 1, false), (shared!.RunId, shared.Attempt, shared.Quarantined));
        Assert.Equal(("running", 1L, 0L, 1L), Row(id));

        await ExpireAndRescueAsync(1);
        Assert.Equal(("queued", 0L, 1L, 0L), Row(id)); // attempt given back, quarantined

        Assert.Null(await _db.Store.ClaimAsync(new ClaimRequest("busy", s_shortLease, Shared: true, AllowQuarantined: false), CancellationToken.None));
        var alone = await _db.Store.ClaimAsync(new ClaimRequest("idle", s_shortLease, Shared: true, AllowQuarantined: true), CancellationToken.None);
        Assert.Equal((id, 1, true), (alone!.RunId, alone.Attempt, alone.Quarantined));
        Assert.Equal(("running", 1L, 1L, 0L), Row(id)); // a quarantined run's lease is never shared

        await ExpireAndRescueAsync(1);
        Assert.Equal(("queued", 1L, 1L, 0L), Row(id)); // counted this time
        _ = await _db.Store.ClaimAsync(new ClaimRequest("idle", s_shortLease, Shared: true), CancellationToken.None);
        await ExpireAndRescueAsync(1);
        Assert.Equal(("failed", 2L, 1L, 0L), Row(id)); // max_attempts = 2 crashes alone
        Assert.Equal("lease expired after 2 attempts", _db.Scalar<string>("SELECT error FROM runs WHERE id = @id", new { id }));
        Assert.Equal(
            ["1 shared=1 quarantined=0", "1 shared=0 quarantined=1", "2 shared=0 quarantined=1"],
            _db.Query<(long A, long S, long Q)>("SELECT attempt, shared, quarantined FROM run_attempts WHERE run_id = @id ORDER BY claimed_at, attempt", new { id }).Select(a => $"{a.A} shared={a.S} quarantined={a.Q}"));
    }

    [Fact]
    public async Task ClaimMatching_ExpiredBatch_EveryMemberForgivenThenEachQuarantinedRunClaimedAlone()
    {
        var configs = Enumerable.Range(0, 3).Select(i =>
        {
            var c = TestDatabase.Synthetic(i);
            c["shape"] = "A";
            return c;
        }).ToList();
        long[] ids = await _db.QueueAsync("batch", configs);
        static string? ShapeOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("shape").GetString();

        // A batch shares one process even when the claimer has one slot (Shared = false): every member is marked shared.
        var batch = await _db.Store.ClaimMatchingAsync(new ClaimRequest("gpu", s_shortLease), 3, ShapeOf, CancellationToken.None);
        Assert.Equal(ids, batch.Select(r => r.RunId));
        Assert.All(ids, id => Assert.Equal(("running", 1L, 0L, 1L), Row(id)));
        Assert.Equal(3L, _db.Scalar<long>("SELECT COUNT(*) FROM run_attempts WHERE shared = 1"));

        await ExpireAndRescueAsync(3);
        Assert.All(ids, id => Assert.Equal(("queued", 0L, 1L, 0L), Row(id)));

        // Quarantined runs never join a batch: each claim takes one, alone.
        var next = await _db.Store.ClaimMatchingAsync(new ClaimRequest("gpu", s_shortLease), 3, ShapeOf, CancellationToken.None);
        Assert.Equal([(ids[0], true)], next.Select(r => (r.RunId, r.Quarantined)));
        Assert.Equal(("running", 1L, 1L, 0L), Row(ids[0]));
    }
}
