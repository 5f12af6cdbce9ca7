using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Storage.Tests.Support;
using Xunit.Abstractions;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>Many concurrent claimers on one file: no run is claimed twice; the claim rate is printed (not asserted).</summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class ClaimThroughputTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestDatabase _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task ClaimAsync_FourConcurrentClaimers_EachRunClaimedOnceAndRatePrinted()
    {
        const int Runs = 400;
        await _db.QueueAsync("throughput", Enumerable.Range(0, Runs).Select(i => TestDatabase.Synthetic(i)));
        var store = RunStores.Open(_db.Path); // pooled connections, as a worker uses them
        var claimed = new ConcurrentBag<(long RunId, string Owner)>();
        var clock = Stopwatch.StartNew();
        var claimers = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            string owner = "claimer-" + c.ToString(CultureInfo.InvariantCulture);
            while (await store.ClaimAsync(new ClaimRequest(owner, TimeSpan.FromMinutes(5)), CancellationToken.None) is { } run)
            {
                claimed.Add((run.RunId, owner));
                await store.OpenSink(run).CompleteAsync([], CancellationToken.None);
            }
        })).ToArray();
        await Task.WhenAll(claimers);
        double seconds = clock.Elapsed.TotalSeconds;

        Assert.Equal(Runs, claimed.Count);
        Assert.Equal(Runs, claimed.Select(c => c.RunId).Distinct().Count());
        Assert.Equal(Runs, _db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status = 'succeeded' AND attempt = 1"));
        Assert.Equal(Runs, _db.Scalar<long>("SELECT COUNT(*) FROM run_attempts"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"SQLite, 4 in-process claimers: {Runs} claim+complete cycles in {seconds:F2}s = {Runs / seconds:F0} cycles/s ({claimed.GroupBy(c => c.Owner).Select(g => g.Count()).Order().Aggregate("", (a, n) => a + n + " ")}per claimer)"));
    }
}
