using System.Text.Json;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Storage.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// Every way a store, file or spec problem reaches the user, through the real process: one sentence on stderr naming
/// the problem, the documented exit code (2 bad input, 3 store or file unavailable), no stack trace, and the stack
/// trace after that sentence with <c>--verbose</c>.
/// </summary>
public sealed class ErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-errors-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Db => Path.Combine(_dir, "fg.db");

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    /// <summary>Asserts the one-sentence form, then runs the same command with --verbose and asserts the stack trace follows the same sentence.</summary>
    private void AssertOneSentence(CliProcess.Result result, int code, string command, string phrase, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        Assert.True(result.Code == code, result.ToString());
        string line = Assert.Single(result.ErrLines);
        Assert.StartsWith($"forgetgate {command}: ", line, StringComparison.Ordinal);
        Assert.Contains(phrase, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Err, StringComparison.Ordinal);

        var verbose = CliProcess.Run(_dir, environment, [.. args, "--verbose"]);
        Assert.True(verbose.Code == code, verbose.ToString());
        Assert.Equal(line, verbose.ErrLines[0]);
        Assert.Contains("   at ", verbose.Err, StringComparison.Ordinal);
        Assert.True(verbose.ErrLines.Length > 2, verbose.ToString());
    }

    private void Check(int code, string command, string phrase, params string[] args) =>
        AssertOneSentence(Forgetgate(args), code, command, phrase, args);

    /// <summary>A store with one sweep "smoke" of two queued synthetic runs.</summary>
    private void QueueSmoke()
    {
        string spec = Path.Combine(_dir, "smoke.json");
        var runs = new[] { 1, 2 }.Select(seed => new Dictionary<string, object> { ["executor"] = "synthetic", ["seed"] = seed, ["tasks"] = 1, ["epochs"] = 1, ["steps"] = 1 });
        File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = "smoke", ["runs"] = runs }));
        var queued = Forgetgate("queue", spec, "--db", Db);
        Assert.True(queued.Code == 0, queued.ToString());
    }

    private string Spec()
    {
        string spec = Path.Combine(_dir, "tiny.yaml");
        File.WriteAllText(spec, "name: tiny\nmodel:\n  variant: lstm\n");
        return spec;
    }

    [Fact]
    public void DatabaseDirectoryMissing_WriteAndReadCommands_ExitTwoNamingIt()
    {
        string missing = Path.Combine(_dir, "no-such-dir", "fg.db");
        Check(2, "queue", $"directory '{Path.GetDirectoryName(missing)}' does not exist", "queue", Spec(), "--db", missing);
        Check(2, "worker", $"directory '{Path.GetDirectoryName(missing)}' does not exist", "worker", "--db", missing, "--until-empty");
        Check(2, "status", $"database '{missing}' does not exist", "status", "--db", missing);
        Check(2, "report", $"database '{missing}' does not exist", "report", "smoke", "--db", missing);
        Assert.False(Directory.Exists(Path.GetDirectoryName(missing)));
    }

    [Fact]
    public void DatabaseLocked_PastTheBusyTimeout_ExitsThreeSayingLocked()
    {
        QueueSmoke();
        using var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Db, Pooling = false }.ToString());
        holder.Open();
        using var write = holder.BeginTransaction(deferred: false); // another process's write lock, held
        var environment = new Dictionary<string, string> { ["Store__BusyTimeout"] = "00:00:01" };
        string[] args = ["queue", Spec(), "--db", Db];

        var result = CliProcess.Run(_dir, environment, args);

        AssertOneSentence(result, 3, "queue", $"the store {Db} cannot be used: SQLite Error 5: 'database is locked'.", args, environment);
    }

    [Fact]
    public void DatabaseFileNotSqlite_EveryCommandThatOpensIt_ExitsThreeSayingSo()
    {
        File.WriteAllBytes(Db, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 7919 % 251))]);
        string phrase = $"the store {Db} cannot be used: the file is not a SQLite database";
        Check(3, "status", phrase, "status", "--db", Db);
        Check(3, "queue", phrase, "queue", Spec(), "--db", Db);
        Check(3, "report", phrase, "report", "smoke", "--db", Db);
        Check(3, "worker", phrase, "worker", "--db", Db, "--until-empty");
        Check(3, "cancel", phrase, "cancel", "sweep:smoke", "--db", Db);
    }

    [Fact]
    public void DatabasePagesCorrupt_ReadAndWriteCommands_ExitThreeWithSqlitesVerdict()
    {
        QueueSmoke();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Db, Pooling = false }.ToString()))
        {
            connection.Open();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }

        // Keep the header page, scramble every page after it.
        byte[] bytes = File.ReadAllBytes(Db);
        for (int i = 4096; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 7919 % 251);
        }

        File.WriteAllBytes(Db, bytes);
        string phrase = $"the store {Db} cannot be used: SQLite Error 11: 'database disk image is malformed'.";
        Check(3, "status", phrase, "status", "--db", Db);
        Check(3, "report", phrase, "report", "smoke", "--db", Db);
        Check(3, "queue", phrase, "queue", Spec(), "--db", Db);
    }

    [Fact]
    public void DatabaseReadOnly_Queue_ExitsThreeSayingReadOnly()
    {
        using var mount = Tmpfs.TryMount(8) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN).");
        string db = Path.Combine(mount.Path, "fg.db");
        var queued = Forgetgate("queue", Spec(), "--db", db);
        Assert.True(queued.Code == 0, queued.ToString());
        mount.Remount("ro");

        Check(3, "queue", "the database is read-only", "queue", Path.Combine(_dir, "tiny.yaml"), "--db", db, "--set", "seed=4");
        Check(3, "status", "the database is read-only", "status", "--db", db);
    }

    [Fact]
    public void PostgresServerUnreachable_ExitsThreeNamingTheServer()
    {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        Check(3, "status", "Store 'postgres://lab@127.0.0.1:1/lab': the database cannot be opened or written (Failed to connect to 127.0.0.1:1)", "status", "--db", "postgres://lab@127.0.0.1:1/lab");
    }

    [Fact]
    public void UnknownSweepOrRun_ExitsTwoNamingWhatIsMissing()
    {
        QueueSmoke();
        Check(2, "report", $"no sweep 'nope' in {Db}", "report", "nope", "--db", Db);
        Check(2, "export", $"no sweep 'nope' in {Db}", "export", "nope", "--db", Db);
        Check(2, "compare", $"no sweep 'nope' in {Db}", "compare", "smoke", "nope", "--db", Db);
        Check(2, "reproduce", $"no run 99 in {Db}", "reproduce", "99", "--db", Db);
        Check(2, "cancel", $"no run 99 in {Db}", "cancel", "99", "--db", Db);
        Check(2, "retry", $"no sweep 'nope' in {Db}", "retry", "sweep:nope", "--db", Db);
        Check(2, "cancel", "'x12' is neither a run id nor 'sweep:<id or name>'", "cancel", "x12", "--db", Db);
        Check(2, "worker", "--sweep 'nope': no such sweep", "worker", "--db", Db, "--sweep", "nope", "--until-empty");
    }

    [Fact]
    public void BadSetOrSpec_ExitsTwoNamingTheFieldAndQueuesNothing()
    {
        Check(2, "queue", "--set: model.hidden: 'abc' is not an integer; expected an integer in [1, 4096]", "queue", Spec(), "--db", Db, "--set", "model.hidden=abc");
        Check(2, "queue", "--set: nonsense: expected field.path=value", "queue", Spec(), "--db", Db, "--set", "nonsense");
        Check(2, "run", "--set: model.hiden: unknown field", "run", Spec(), "--db", Db, "--set", "model.hiden=3");
        Check(2, "spec check", "--set: seed: -1 is out of range; expected an integer in [0, 9007199254740991]", "spec", "check", Spec(), "--set", "seed=-1");
        Check(2, "run", $"spec file '{Path.Combine(_dir, "missing.yaml")}' does not exist", "run", "missing.yaml", "--db", Db);
        Check(2, "run", "--outage-wait -5: expected a number of seconds, 0 or more.", "run", Spec(), "--db", Db, "--outage-wait", "-5");
        Assert.False(File.Exists(Db));
    }

    [Fact]
    public void ParseErrors_ExitTwoWithTheProblemAndAPointerToHelp()
    {
        var result = Forgetgate("model", "abc", "--db", Db);
        Assert.Equal(2, result.Code);
        Assert.Equal(["forgetgate model: Cannot parse argument 'abc' for command 'model' as expected type 'System.Int64'.", "See 'forgetgate model --help'."], result.ErrLines);

        // reproduce takes a run id or a run checkpoint file, so 'abc' is a file that is not there.
        var reproduce = Forgetgate("reproduce", "abc", "--db", Db);
        Assert.Equal(2, reproduce.Code);
        Assert.Equal([$"forgetgate reproduce: 'abc' is neither a run id nor an existing run checkpoint file ({Path.Combine(_dir, "abc")} does not exist)."], reproduce.ErrLines);

        var unknown = Forgetgate("status", "--bogus");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("forgetgate status: Unrecognized command or argument '--bogus'.", unknown.ErrLines);
    }

    [Fact]
    public void InvalidSettings_AppsettingsJsonOrStoreEnvironment_ExitTwoNamingThem()
    {
        QueueSmoke();
        AssertOneSentence(CliProcess.Run(_dir, new Dictionary<string, string> { ["Store__BusyTimeout"] = "soon" }, "status", "--db", Db),
            2, "status", "Failed to convert configuration value 'soon' at 'Store:BusyTimeout'", ["status", "--db", Db], new Dictionary<string, string> { ["Store__BusyTimeout"] = "soon" });
        File.WriteAllText(Path.Combine(_dir, "appsettings.json"), "{ \"Database\": ");
        Check(2, "status", $"{Path.Combine(_dir, "appsettings.json")}: not valid JSON", "status");
    }
}
