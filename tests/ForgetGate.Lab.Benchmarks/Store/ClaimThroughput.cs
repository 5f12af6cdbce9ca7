using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage;
using ForgetGate.Lab.Storage.Tests.Support;
using ForgetGate.Lab.TestWorker;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ForgetGate.Lab.Benchmarks.Store;

/// <summary>
/// <c>-- claims</c>: how fast the queue hands out work, on a SQLite file and on a PostgreSQL server (a throwaway
/// cluster on loopback with PostgreSQL's durable defaults: fsync and synchronous commit on), for 1, 4 and 16
/// concurrent workers. Each worker is a task with its own store and connection pool, as a separate machine would be.
/// <list type="bullet">
/// <item>claims/s: claim + complete cycles of empty runs (the queue's own cost);</item>
/// <item>end-to-end runs/s: short synthetic runs (2 steps: curve, evaluation and gate rows, 2 checkpoint files and
/// rows, progress, summary) through the fenced sink, as a worker executes them.</item>
/// </list>
/// After each round the audit table must show exactly one claim per run and every run succeeded on attempt 1;
/// a double claim aborts the benchmark.
/// </summary>
internal static class ClaimThroughput
{
    private static readonly int[] s_workers = [1, 4, 16];

    public static void Run(string[] args)
    {
        int claimRuns = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        int endToEndRuns = Math.Max(50, claimRuns / 4);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"Queue throughput: {claimRuns} empty runs for claims/s, {endToEndRuns} synthetic runs end to end; {Environment.ProcessorCount} cores"));
        using var cluster = PostgresCluster.Start(durable: true);
        Console.WriteLine(string.Create(inv, $"PostgreSQL {cluster.Version} on 127.0.0.1:{cluster.Port} (fsync on, synchronous_commit on); SQLite {SqliteVersion()} (WAL, synchronous NORMAL)"));
        Console.WriteLine();
        Console.WriteLine($"{"store",-10} {"workers",7} {"claims/s",10} {"runs/s e2e",11} {"double claims",14}");
        string scratch = Directory.CreateTempSubdirectory("fg-claims-").FullName;
        try
        {
            foreach (string kind in new[] { "sqlite", "postgres" })
            {
                foreach (int workers in s_workers)
                {
                    var (claims, doubleA) = Measure(kind, workers, claimRuns, endToEnd: false, cluster, scratch);
                    var (runs, doubleB) = Measure(kind, workers, endToEndRuns, endToEnd: true, cluster, scratch);
                    Console.WriteLine(string.Create(inv, $"{kind,-10} {workers,7} {claims,10:F0} {runs,11:F0} {doubleA + doubleB,14}"));
                }
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(inv, $"peak RSS {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB (this process: all workers and both clients)"));
    }

    private static (double PerSecond, long DoubleClaims) Measure(string kind, int workers, int runs, bool endToEnd, PostgresCluster cluster, string scratch)
    {
        string label = string.Create(CultureInfo.InvariantCulture, $"{kind}-{workers}-{(endToEnd ? "e2e" : "claims")}");
        string db;
        Func<System.Data.Common.DbConnection> open;
        if (kind == "postgres")
        {
            string name = cluster.CreateDatabase("bench");
            db = cluster.Url(name);
            open = () =>
            {
                var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = cluster.Port, Username = PostgresCluster.User, Database = name, Pooling = false }.ConnectionString);
                c.Open();
                return c;
            };
        }
        else
        {
            db = Path.Combine(scratch, label + ".db");
            open = () =>
            {
                var c = new SqliteConnection($"Data Source={db};Pooling=False");
                c.Open();
                return c;
            };
        }

        var setup = RunStores.Open(db);
        setup.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        long sweep = setup.CreateSweepAsync(new NewSweep(label, label, RunListSweepSource.Sha256(label)), CancellationToken.None).GetAwaiter().GetResult();
        var queued = Enumerable.Range(0, runs).Select(i =>
        {
            string json = JsonSerializer.Serialize(new SortedDictionary<string, object>(StringComparer.Ordinal)
            {
                ["executor"] = "synthetic", ["seed"] = i, ["tasks"] = 1, ["epochs"] = 1, ["steps"] = 2, ["step_ms"] = 0,
            });
            return new NewRun(json, RunListSweepSource.Sha256(json), i);
        }).ToList();
        setup.EnqueueAsync(sweep, queued, CancellationToken.None).GetAwaiter().GetResult();

        string checkpoints = Path.Combine(scratch, label);
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var store = RunStores.Open(db); // its own pool: one machine
            string owner = string.Create(CultureInfo.InvariantCulture, $"bench-{w}");
            var executor = new SyntheticRunExecutor();
            while (await store.ClaimAsync(new ClaimRequest(owner, TimeSpan.FromMinutes(5)), CancellationToken.None).ConfigureAwait(false) is { } run)
            {
                var sink = store.OpenSink(run);
                if (endToEnd)
                {
                    string directory = Path.Combine(checkpoints, run.RunId.ToString(CultureInfo.InvariantCulture));
                    Directory.CreateDirectory(directory);
                    await executor.ExecuteAsync(new RunContext(run.RunId, run.SweepId, run.ConfigJson, run.ConfigHash, run.Seed, run.Attempt, 1, directory, run.LastCheckpoint, sink), CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await sink.CompleteAsync([], CancellationToken.None).ConfigureAwait(false);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        double seconds = clock.Elapsed.TotalSeconds;

        long doubleClaims;
        using (var connection = open())
        {
            long claims = connection.ExecuteScalar<long>("SELECT COUNT(*) FROM run_attempts");
            long distinct = connection.ExecuteScalar<long>("SELECT COUNT(DISTINCT run_id) FROM run_attempts");
            long succeeded = connection.ExecuteScalar<long>("SELECT COUNT(*) FROM runs WHERE status = 'succeeded' AND attempt = 1");
            doubleClaims = claims - distinct;
            if (claims != runs || distinct != runs || succeeded != runs)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{label}: {claims} claims of {distinct} distinct runs, {succeeded} succeeded on attempt 1; expected {runs} each (double claim or lost run)."));
            }
        }

        if (kind == "postgres")
        {
            NpgsqlConnection.ClearAllPools();
        }
        else
        {
            SqliteConnection.ClearAllPools();
        }

        return (runs / seconds, doubleClaims);
    }

    private static string SqliteVersion()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return connection.ExecuteScalar<string>("SELECT sqlite_version()")!;
    }
}
