using System.Diagnostics;
using ForgetGate.Lab.Cli.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// What a new user hit (issue 12), through the real <c>forgetgate</c> process: the exit code, the one line on stderr,
/// and what is (or is not) stored. Specs that cannot succeed are refused before queueing; a single task is a baseline;
/// sweeps have a size limit; names stay inside results/; analysis commands match groups, columns and folders.
/// </summary>
public sealed class NewUserDefectTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-newuser-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Combine(_dir, "results", "forgetgate.db");

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    private string Spec(string file, string text)
    {
        string path = Path.Combine(_dir, file);
        File.WriteAllText(path, text);
        return path;
    }

    private T Scalar<T>(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Db};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("scenario:\n  train_per_task: 1000000\n", 3, "scenario.train_per_task: 1000000 training samples per task, but only 60000 exist in fashion-mnist (permuted tasks draw from all 10 classes); at most 60000")]
    [InlineData("scenario:\n  kind: split\n  tasks: 5\n  classes_per_task: 3\n", 5, "scenario.classes_per_task: split with 5 tasks × 3 classes needs 15 classes but fashion-mnist has 10; at most 2 classes per task for 5 tasks")]
    public void SpecThatCannotSucceed_IsRefusedBeforeQueueing(string scenario, int line, string message)
    {
        string spec = Spec("big.yaml", "name: big\n" + scenario);
        var check = Forgetgate("spec", "check", spec);
        Assert.Equal(2, check.Code);
        Assert.Equal($"forgetgate spec check: {spec}:{line}: {message}", check.ErrLines.Single());

        var run = Forgetgate("run", spec);
        Assert.Equal(2, run.Code);
        Assert.Equal($"forgetgate run: {spec}:{line}: {message}", run.ErrLines.Single());
        Assert.False(File.Exists(Db), "nothing is queued: the database is not even created");
    }

    [Fact]
    public void Run_SingleTask_SucceedsWithTheMetricsThatNeedTwoTasksAbsent()
    {
        string spec = Spec("one.yaml", "name: one\nscenario:\n  tasks: 1\n  train_per_task: 100\n  test_per_task: 50\nmodel:\n  hidden: 8\ntraining:\n  batch_size: 50\nmax_attempts: 1\n");
        var run = Forgetgate("run", spec, "--threads", "1");
        Assert.True(run.Code == 0, run.ToString());
        Assert.Equal("succeeded", Scalar<string>("SELECT status FROM runs WHERE id = 1"));
        Assert.Equal(1L, Scalar<long>("SELECT attempt FROM runs WHERE id = 1"));
        Assert.Equal(1L, Scalar<long>("SELECT COUNT(*) FROM run_summaries WHERE run_id = 1 AND metric = 'acc'"));
        Assert.Equal(0L, Scalar<long>("SELECT COUNT(*) FROM run_summaries WHERE metric IN ('bwt', 'fwt', 'forgetting')"));
        var csv = File.ReadAllLines(Path.Combine(_dir, "results", "one", "runs.csv"));
        var header = csv[0].Split(',');
        var cells = csv[1].Split(',');
        Assert.Equal("", cells[Array.IndexOf(header, "bwt")]); // absent, not NaN
        Assert.NotEqual("", cells[Array.IndexOf(header, "acc")]);
        Assert.DoesNotContain("NaN", File.ReadAllText(Path.Combine(_dir, "results", "one", "report.md")), StringComparison.Ordinal);
        Assert.Contains("No finished run with two or more tasks yet", File.ReadAllText(Path.Combine(_dir, "results", "one", "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void MillionPointSweep_IsCountedInSecondsAndRefused_UnlessMaxRunsLiftsTheLimit()
    {
        string seeds = string.Join(", ", Enumerable.Range(0, 5000));
        string lrs = string.Join(", ", Enumerable.Range(1, 100).Select(i => $"{i}e-5"));
        string spec = Spec("huge.yaml", $"name: huge\nsweep:\n  seed: [{seeds}]\n  training.optimizer.lr: [{lrs}]\n  strategy.kind: [naive, replay]\n");
        var clock = Stopwatch.StartNew();
        var check = Forgetgate("spec", "check", spec);
        double seconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(2, check.Code);
        Assert.Equal(
            $"forgetgate spec check: {spec}: sweep: expands to 1,000,000 runs (5000 seed × 100 training.optimizer.lr × 2 strategy.kind), more than the limit of 10,000; narrow the sweep, or pass --max-runs 1000000 if you mean it",
            check.ErrLines.Single());
        Assert.True(seconds < 30, $"spec check took {seconds:F1} s"); // process start included; the count itself is microseconds

        var allowed = Forgetgate("spec", "check", spec, "--max-runs", "1000000");
        Assert.True(allowed.Code == 0, allowed.ToString());
        Assert.StartsWith("huge: valid, 1000000 run(s)\n", allowed.Out, StringComparison.Ordinal);
        Assert.Contains("… and 999,980 more", allowed.Out, StringComparison.Ordinal);

        var queue = Forgetgate("queue", spec);
        Assert.Equal(2, queue.Code);
        Assert.Contains("more than the limit of 10,000", queue.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Db));
    }

    [Theory]
    [InlineData("name: ..\n", "'..' is not a safe name")]
    [InlineData("name: '   '\n", "is empty")]
    [InlineData("name: a/b\n", "'a/b' is not a safe name")]
    public void UnsafeName_IsRefusedBySpecCheckAndRun(string yaml, string phrase)
    {
        string spec = Spec("named.yaml", yaml);
        foreach (var command in new[] { new[] { "spec", "check", spec }, new[] { "run", spec } })
        {
            var r = Forgetgate(command);
            Assert.Equal(2, r.Code);
            string line = r.ErrLines.Single();
            Assert.Contains($"{spec}:1: name: {phrase}; expected a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters (it names the folder results/<name>)", line, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(Db));
        Assert.Equal(["named.yaml"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void LongName_IsRefused_AndBlankSweepArgumentsAreBadInput()
    {
        var check = Forgetgate("spec", "check", Spec("long.yaml", $"name: {new string('x', 300)}\n"));
        Assert.Equal(2, check.Code);
        Assert.Contains("(300 characters)' is not a safe name", check.Err, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.GetDirectoryName(Db)!);
        var migrate = Forgetgate("store", "migrate", "--db", Db);
        Assert.True(migrate.Code == 0, migrate.ToString());
        var report = Forgetgate("report", "   ", "--db", Db);
        Assert.Equal(2, report.Code);
        Assert.Equal($"forgetgate report: no sweep '   ' in {Db}; 'forgetgate status' lists the sweeps.", report.ErrLines.Single());
    }

    [Fact]
    public void AnalysisCommands_MatchGroupsNameColumnsAndFoldersAndRenamingReusesRuns()
    {
        const string Body = "scenario:\n  tasks: 2\n  train_per_task: 100\n  test_per_task: 50\nmodel:\n  variant: gru\n  hidden: 8\ntraining:\n  batch_size: 50\n";
        var a = Forgetgate("run", Spec("a.yaml", "name: cmpa\n" + Body), "--threads", "1");
        Assert.True(a.Code == 0, a.ToString());

        // The same point under another name is the same computation: reused, not recomputed.
        var renamed = Forgetgate("run", Spec("renamed.yaml", "name: renamed\n" + Body), "--threads", "1");
        Assert.True(renamed.Code == 0, renamed.ToString());
        Assert.Contains("1 of 1 points reused from earlier sweeps", renamed.Out, StringComparison.Ordinal);

        // Sweep B varies the strategy too: its progress lines, status and CSVs name both swept fields.
        var b = Forgetgate("run", Spec("b.yaml", "name: cmpb\n" + Body.Replace("variant: gru", "variant: [gru, lstm]", StringComparison.Ordinal) + "strategy:\n  kind: [naive, replay]\n  buffer_size: 50\n"), "--threads", "1");
        Assert.True(b.Code == 0, b.ToString());
        Assert.True((b.Out + b.Err).Contains("[replay / gru seed 0]: task 2/2", StringComparison.Ordinal), b.ToString()); // plain progress lines (output redirected)
        Assert.Contains("[naive / lstm seed 0]: task 2/2", b.Out + b.Err, StringComparison.Ordinal);
        Assert.Contains("1 of 4 points reused from earlier sweeps", b.Out, StringComparison.Ordinal);

        var status = Forgetgate("status", "cmpb");
        Assert.True(status.Code == 0, status.ToString());
        Assert.Matches(@"(?m)^\s+\d+ succeeded\s+\d+\s+naive / gru\s+0  \(reused from run 1\)$", status.Out);
        Assert.Matches(@"(?m)^\s+\d+ succeeded\s+1\s+replay / gru\s+0  $", status.Out);

        var export = Forgetgate("export", "cmpb");
        Assert.True(export.Code == 0, export.ToString());
        string runsCsv = Path.Combine(_dir, "results", "cmpb", "runs.csv");
        Assert.Contains(runsCsv, export.Out, StringComparison.Ordinal);
        Assert.StartsWith("run,strategy,variant,seed,status,", File.ReadAllLines(runsCsv)[0], StringComparison.Ordinal);
        Assert.StartsWith("run,strategy,variant,seed,after_task,", File.ReadAllLines(Path.Combine(_dir, "results", "cmpb", "evaluations.csv"))[0], StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "runs.csv")), "export no longer writes into the working directory");

        // "gru" (A) against "naive / gru" and "replay / gru" (B): matched on the fields both have, no NaN.
        var compare = Forgetgate("compare", "cmpa", "cmpb");
        Assert.True(compare.Code == 0, compare.ToString());
        Assert.DoesNotContain("NaN", compare.Out, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^gru / naive\s+ACC ↑\s+\S+ \(n=1\)\s+\S+ \(n=1\)\s+0\.0000$", compare.Out);
        Assert.Matches(@"(?m)^gru / replay\s+ACC ↑\s+—\s+\S+ \(n=1\)\s+—$", compare.Out);
        Assert.Contains("only in 'cmpb': gru / replay", compare.Out, StringComparison.Ordinal);
    }
}
