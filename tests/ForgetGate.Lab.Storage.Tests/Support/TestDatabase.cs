using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Dapper;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.TestWorker;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ForgetGate.Lab.Storage.Tests.Support;

/// <summary>The two store providers every reliability test runs against.</summary>
public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A real store, migrated, with helpers to queue synthetic runs and read rows back: a SQLite file in a fresh temporary
/// directory, or a fresh database in a throwaway PostgreSQL cluster (<see cref="PostgresCluster"/>). The SQL the tests
/// read with is written once and runs on both.
/// </summary>
internal sealed class TestDatabase : IDisposable
{
    private static int s_counter;
    private readonly PostgresCluster? _cluster;
    private readonly string? _postgresDatabase;

    public TestDatabase(string? directory = null, bool migrate = true, string? checkpointRoot = null)
        : this(StoreKind.Sqlite, directory, migrate, checkpointRoot)
    {
    }

    public TestDatabase(StoreKind kind, string? directory = null, bool migrate = true, string? checkpointRoot = null, PostgresCluster? cluster = null)
    {
        Kind = kind;
        Directory = directory ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fg-store-tests", string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-{Guid.NewGuid():N}"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = System.IO.Path.Combine(Directory, "forgetgate.db");
        CheckpointRoot = checkpointRoot ?? System.IO.Path.Combine(Directory, "checkpoints");
        if (kind == StoreKind.Postgres)
        {
            _cluster = cluster ?? PostgresCluster.Shared;
            _postgresDatabase = _cluster.CreateDatabase();
            Db = _cluster.Url(_postgresDatabase);
        }
        else
        {
            Db = Path;
        }

        // No pooling: the test process must not keep the file open (tmpfs remounts, process tests), nor hold server
        // connections between tests.
        Store = RunStores.Open(Db, new StoreOptions { Pooling = false });
        if (migrate)
        {
            Store.MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    public StoreKind Kind { get; }

    /// <summary>The value to pass as <c>--db</c>: the SQLite file path or the PostgreSQL URL.</summary>
    public string Db { get; }

    public string Directory { get; }

    /// <summary>The SQLite file (for a PostgreSQL store: unused).</summary>
    public string Path { get; }

    public string CheckpointRoot { get; }

    public IRunStore Store { get; }

    /// <summary>The shipped CLI built by this test project's ProjectReference: it knows only the training executor.</summary>
    public static string CliDll { get; } = typeof(TestDatabase).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ForgetGateCliDll").Value!;

    /// <summary>The tests' worker program: the same CLI composed with the synthetic executor (tests/ForgetGate.Lab.TestWorker).</summary>
    public static string TestWorkerDll { get; } = typeof(TestDatabase).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ForgetGateTestWorkerDll").Value!;

    /// <summary>Queues synthetic runs in a new sweep; returns their ids in queue order.</summary>
    public async Task<long[]> QueueAsync(string sweep, IEnumerable<Dictionary<string, object>> configs, int priority = 0, int maxAttempts = 3)
    {
        long sweepId = await Store.CreateSweepAsync(new NewSweep(sweep, sweep, RunListSweepSource.Sha256(sweep)), CancellationToken.None);
        var runs = configs.Select(c =>
        {
            string json = JsonSerializer.Serialize(new SortedDictionary<string, object>(c, StringComparer.Ordinal));
            return new NewRun(json, RunListSweepSource.Sha256(json), Convert.ToInt64(c["seed"], CultureInfo.InvariantCulture), "synthetic", priority, maxAttempts);
        }).ToList();
        var result = await Store.EnqueueAsync(sweepId, runs, CancellationToken.None);
        Assert.Equal(runs.Count, result.Inserted);
        using var connection = Open();
        return [.. await connection.QueryAsync<long>("SELECT id FROM runs WHERE sweep_id = @sweepId ORDER BY id", new { sweepId })];
    }

    /// <summary>A synthetic run's config: tasks × epochs × steps steps of stepMs milliseconds.</summary>
    public static Dictionary<string, object> Synthetic(long seed, int tasks = 2, int epochs = 2, int steps = 2, int stepMs = 5) => new()
    {
        ["executor"] = "synthetic",
        ["seed"] = seed,
        ["tasks"] = tasks,
        ["epochs"] = epochs,
        ["steps"] = steps,
        ["step_ms"] = stepMs,
    };

    public DbConnection Open()
    {
        if (Kind == StoreKind.Postgres)
        {
            var server = new NpgsqlConnection(new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = _cluster!.Port, Username = PostgresCluster.User, Database = _postgresDatabase, Pooling = false }.ConnectionString);
            server.Open();
            return server;
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, DefaultTimeout = 30 }.ToString());
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 10000;");
        return connection;
    }

    /// <summary>Whether the store has a table of that name.</summary>
    public bool TableExists(string table) => Kind == StoreKind.Postgres
        ? Scalar<long>("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = @table", new { table }) == 1
        : Scalar<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @table", new { table }) == 1;

    public T Scalar<T>(string sql, object? args = null)
    {
        using var connection = Open();
        return connection.ExecuteScalar<T>(sql, args)!;
    }

    public List<T> Query<T>(string sql, object? args = null)
    {
        using var connection = Open();
        return [.. connection.Query<T>(sql, args)];
    }

    /// <summary>The evaluation rows of a run as sorted "after_task/epoch/eval_task/metric=value(round-trip)" strings.</summary>
    public List<string> Evaluations(long runId) =>
        Query<(long AfterTask, long Epoch, long EvalTask, string Metric, double Value)>(
            "SELECT after_task, epoch, eval_task, metric, value FROM evaluations WHERE run_id = @runId ORDER BY after_task, epoch, eval_task, metric", new { runId })
        .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.AfterTask}/{r.Epoch}/{r.EvalTask}/{r.Metric}={r.Value:R}"))
        .ToList();

    /// <summary>
    /// "ok" when the store is intact: SQLite's integrity_check; on PostgreSQL, amcheck's bt_index_check of every
    /// index with heapallindexed (every table row is found in every index, and each index is ordered).
    /// </summary>
    public string IntegrityCheck()
    {
        if (Kind == StoreKind.Sqlite)
        {
            return Scalar<string>("PRAGMA integrity_check;");
        }

        using var connection = Open();
        connection.Execute("CREATE EXTENSION IF NOT EXISTS amcheck");
        var indexes = connection.Query<string>("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'").ToList();
        foreach (string index in indexes)
        {
            connection.Execute("SELECT bt_index_check(@index::regclass, true)", new { index });
        }

        return indexes.Count > 0 ? "ok" : "no indexes found";
    }

    /// <summary>Runs a run to completion in this process (claim + synthetic executor + fenced sink): the uninterrupted reference.</summary>
    public async Task<long> RunInProcessAsync(long runId)
    {
        var claimed = await Store.ClaimAsync(new ClaimRequest("test-baseline", TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.NotNull(claimed);
        Assert.Equal(runId, claimed.RunId);
        string directory = System.IO.Path.Combine(CheckpointRoot, "baseline-" + runId.ToString(CultureInfo.InvariantCulture));
        System.IO.Directory.CreateDirectory(directory);
        var context = new RunContext(claimed.RunId, claimed.SweepId, claimed.ConfigJson, claimed.ConfigHash, claimed.Seed, claimed.Attempt, 1, directory, claimed.LastCheckpoint, Store.OpenSink(claimed));
        await new SyntheticRunExecutor().ExecuteAsync(context, CancellationToken.None);
        return runId;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (_postgresDatabase is not null)
        {
            _cluster!.DropDatabase(_postgresDatabase);
        }

        foreach (string directory in new[] { Directory, CheckpointRoot })
        {
            try
            {
                if (System.IO.Directory.Exists(directory))
                {
                    System.IO.Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
