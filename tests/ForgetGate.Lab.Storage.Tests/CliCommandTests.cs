using System.Diagnostics;
using System.Text.Json;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>The queue, status and worker commands on a SQLite file.</summary>
public sealed class SqliteCliCommandTests() : CliCommandTests(StoreKind.Sqlite);

/// <summary>The queue, status and worker commands on a PostgreSQL server.</summary>
public sealed class PostgresCliCommandTests() : CliCommandTests(StoreKind.Postgres);

/// <summary>The queue, status and worker commands as a researcher types them, against each provider.</summary>
[Collection(WorkerProcessGroup.Name)]
public abstract class CliCommandTests : IDisposable
{
    private readonly TestDatabase _db;

    protected CliCommandTests(StoreKind kind) => _db = new TestDatabase(kind, migrate: false);

    public void Dispose()
    {
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The tests' worker program (the CLI as shipped, plus the synthetic executor these runs use) with <paramref name="args"/>.</summary>
    internal static Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(params string[] args) => RunProgramAsync(TestDatabase.TestWorkerDll, args);

    /// <summary>Runs <paramref name="dll"/> (a CLI build) with <paramref name="args"/> to its end.</summary>
    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunProgramAsync(string dll, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Queue_RunListTwiceThenWorker_DryRunListsPointsDuplicatesSkippedStatusCounts()
    {
        string spec = Path.Combine(_db.Directory, "smoke.json");
        var runs = Enumerable.Range(0, 3).Select(i => TestDatabase.Synthetic(i)).ToList();
        File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = "smoke", ["runs"] = runs }));

        var dry = await RunCliAsync("queue", spec, "--db", _db.Db, "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Contains("sweep smoke: 3 point(s)", dry.Stdout, StringComparison.Ordinal);
        Assert.False(_db.Kind == StoreKind.Sqlite ? File.Exists(_db.Path) : _db.TableExists("runs")); // a dry run writes nothing

        Assert.Contains("queued 3 run(s), 0 already queued", (await RunCliAsync("queue", spec, "--db", _db.Db)).Stdout, StringComparison.Ordinal);
        Assert.Contains("queued 0 run(s), 3 already queued", (await RunCliAsync("queue", spec, "--db", _db.Db)).Stdout, StringComparison.Ordinal);
        var before = await RunCliAsync("status", "--db", _db.Db);
        Assert.Matches(@"1 smoke\s+3\s+0\s+0\s+0\s+0\s+0 %", before.Stdout);

        var worker = WorkerProcess.Start(_db, "--until-empty");
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        worker.Dispose();
        var after = await RunCliAsync("status", "--db", _db.Db);
        Assert.Matches(@"1 smoke\s+0\s+0\s+3\s+0\s+0\s+100 %", after.Stdout);
    }

    [Fact]
    public async Task Worker_SweepOption_WorksOnlyThatSweepAndExitsWhenItIsDone()
    {
        foreach (string name in new[] { "first", "second" })
        {
            string spec = Path.Combine(_db.Directory, name + ".json");
            File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = name, ["runs"] = new[] { TestDatabase.Synthetic(name.Length), TestDatabase.Synthetic(name.Length + 100) } }));
            Assert.Equal(0, (await RunCliAsync("queue", spec, "--db", _db.Db)).ExitCode);
        }

        var worker = WorkerProcess.Start(_db, "--until-empty --sweep second");
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        worker.Dispose();
        var status = (await RunCliAsync("status", "--db", _db.Db)).Stdout;
        Assert.Matches(@"1 first\s+2\s+0\s+0\s+0\s+0", status);
        Assert.Matches(@"2 second\s+0\s+0\s+2\s+0\s+0", status);

        var unknown = await RunCliAsync("worker", "--db", _db.Db, "--sweep", "third", "--until-empty");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--sweep 'third': no such sweep", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_BadSpec_ExitsTwoNamingTheFieldAndNothingReachesTheStore()
    {
        string spec = Path.Combine(_db.Directory, "bad.yaml");
        File.WriteAllText(spec, "name: bad\nmodel:\n  variant: lstn\n");
        var result = await RunCliAsync("queue", spec, "--db", _db.Db);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bad.yaml:3: model.variant: 'lstn' is neither a built-in variant", result.Stderr, StringComparison.Ordinal);
        Assert.False(_db.Kind == StoreKind.Sqlite ? File.Exists(_db.Path) : _db.TableExists("runs"));
    }

    [Fact]
    public async Task Worker_HeartbeatNotUnderHalfTheLease_RefusesToStartNamingTheFlag()
    {
        var result = await RunCliAsync("worker", "--db", _db.Db, "--lease-seconds", "2", "--heartbeat-seconds", "1.5", "--concurrency", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--heartbeat-seconds 1.5: expected > 0 and at most half of --lease-seconds (2)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--concurrency 0: expected auto or 1..256.", result.Stderr, StringComparison.Ordinal);
    }
}
