using ForgetGate.Lab.Cli.Tests.Support;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>The user's path through the real <c>forgetgate</c> process: run a tiny spec on real Fashion-MNIST, report, reproduce, manage.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    [Fact]
    public void Run_TinySpec_TrainsReportsAndReproducesBitForBit()
    {
        string spec = Path.Combine(_dir, "tiny.yaml");
        File.WriteAllText(spec, """
            name: tiny
            scenario:
              kind: permuted
              tasks: 2
              train_per_task: 300
              test_per_task: 100
            model:
              variant: [lstm, gru]
              hidden: 16
            training:
              batch_size: 50
            """);
        string db = Path.Combine(_dir, "results", "fg.db");
        Directory.CreateDirectory(Path.GetDirectoryName(db)!);

        var run = Forgetgate("run", spec, "--db", db, "--threads", "2");
        Assert.True(run.Code == 0, run.Out + run.Err);
        Assert.Contains("2 run(s); 2 newly queued", run.Out, StringComparison.Ordinal);
        string html = Path.Combine(_dir, "results", "tiny", "report.html");
        Assert.Contains($"report: {html}", run.Out, StringComparison.Ordinal);
        Assert.Contains("forgets least", File.ReadAllText(html), StringComparison.Ordinal);

        // Re-running is cheap: both runs are already done in this sweep.
        var again = Forgetgate("run", spec, "--db", db);
        Assert.Equal(0, again.Code);
        Assert.Contains("0 newly queued, 2 already in this sweep", again.Out, StringComparison.Ordinal);

        // Reproduce with a different thread count: every evaluation row identical.
        var reproduce = Forgetgate("reproduce", "1", "--db", db, "--threads", "1");
        Assert.True(reproduce.Code == 0, reproduce.Out + reproduce.Err);
        Assert.Contains("bit-identical to the stored run.", reproduce.Out, StringComparison.Ordinal);

        var export = Forgetgate("export", "tiny", "--db", db, "--out", Path.Combine(_dir, "csv"));
        Assert.Equal(0, export.Code);
        var rows = File.ReadAllLines(Path.Combine(_dir, "csv", "evaluations.csv"));
        Assert.Equal(1 + (2 * (1 + 2) * 2 * 2), rows.Length); // header + runs × (baseline + 2 tasks) × 2 eval tasks × 2 metrics

        Assert.Equal(1, Forgetgate("retry", "1", "--db", db).Code); // succeeded runs are not retried
        Assert.Equal(2, Forgetgate("cancel", "99", "--db", db).Code);
    }

    [Fact]
    public void Queue_SpecGrownByAVariant_QueuesOnlyTheNewPointAndItsReportHasTheReusedRunsMetricsUnchanged()
    {
        string Spec(string file, string variants)
        {
            string path = Path.Combine(_dir, file);
            File.WriteAllText(path, $$"""
                name: grow
                scenario:
                  kind: permuted
                  tasks: 2
                  train_per_task: 200
                  test_per_task: 100
                model:
                  variant: [{{variants}}]
                  hidden: 8
                training:
                  batch_size: 50
                """);
            return path;
        }

        string db = Path.Combine(_dir, "results", "fg.db");
        Directory.CreateDirectory(Path.GetDirectoryName(db)!);
        var first = Forgetgate("run", Spec("grow.yaml", "lstm, gru"), "--db", db, "--threads", "1");
        Assert.True(first.Code == 0, first.Out + first.Err);
        Assert.Contains("0 of 2 points reused from earlier sweeps", first.Out, StringComparison.Ordinal);
        string[] before = File.ReadAllLines(Path.Combine(_dir, "results", "grow", "runs.csv"));

        // The grown spec is a new sweep: only cifg is queued, lstm and gru are filled from sweep 1.
        string grown = Spec("grow-plus.yaml", "lstm, gru, cifg");
        var queue = Forgetgate("queue", grown, "--db", db);
        Assert.True(queue.Code == 0, queue.Out + queue.Err);
        Assert.Contains("sweep 2 'grow': queued 1 run(s), 0 already queued", queue.Out, StringComparison.Ordinal);
        Assert.Contains("2 of 3 points reused from earlier sweeps", queue.Out, StringComparison.Ordinal);
        Assert.Matches(@"2 grow\s+1\s+0\s+2\s+0\s+0", Forgetgate("status", "--db", db).Out);

        var second = Forgetgate("run", grown, "--db", db, "--threads", "1");
        Assert.True(second.Code == 0, second.Out + second.Err);
        Assert.Contains("0 newly queued, 3 already in this sweep", second.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("points reused", second.Out, StringComparison.Ordinal); // nothing was decided this time
        string[] after = File.ReadAllLines(Path.Combine(_dir, "results", "grow", "runs.csv"));

        // runs.csv: run,variant,seed,status,config_hash,wall_seconds,train_samples_per_s,acc,bwt,…: every column of
        // the reused runs but the run id is the original's, to the last bit (values are printed round-trip).
        static string WithoutId(string line) => line[(line.IndexOf(',', StringComparison.Ordinal) + 1)..];
        Assert.Equal(before[0], after[0]);
        Assert.Equal(before.Skip(1).Select(WithoutId), after.Skip(1).Take(2).Select(WithoutId));
        Assert.StartsWith("5,cifg,0,succeeded,", after[3], StringComparison.Ordinal);
        string html = File.ReadAllText(Path.Combine(_dir, "results", "grow", "report.html"));
        Assert.Contains("reused from run 1", html, StringComparison.Ordinal);

        // --no-reuse under yet another spec text computes every point again.
        var fresh = Forgetgate("queue", Spec("grow-fresh.yaml", "gru, lstm"), "--db", db, "--no-reuse");
        Assert.Contains("queued 2 run(s), 0 already queued", fresh.Out, StringComparison.Ordinal);
        Assert.Contains("reuse of earlier sweeps' runs is off (--no-reuse)", fresh.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void RunAndCompare_DriftSweep_PrintMseLowerIsBetterAsTheReportDoes()
    {
        string spec = Path.Combine(_dir, "drift.yaml");
        File.WriteAllText(spec, """
            name: drift
            scenario:
              kind: drift
              tasks: 2
              train_per_task: 200
              test_per_task: 50
              window: 8
            model:
              variant: [lstm, gru]
              hidden: 8
            training:
              batch_size: 50
            """);
        string db = Path.Combine(_dir, "results", "fg.db");
        Directory.CreateDirectory(Path.GetDirectoryName(db)!);
        var run = Forgetgate("run", spec, "--db", db, "--threads", "1");
        Assert.True(run.Code == 0, run.Out + run.Err);
        var compare = Forgetgate("compare", "drift", "--db", db);
        Assert.Equal(0, compare.Code);

        // The table of 'run' is the table of 'compare', and it is in MSE: its "Final MSE" of each variant is that
        // run's final_mse (= −acc on −MSE scores in runs.csv), and nothing is shown as a score.
        string table = compare.Out.Trim();
        Assert.Contains(table, run.Out, StringComparison.Ordinal);
        Assert.Matches(@"^variant\s+runs\s+Final MSE ↓\s+BWT \(ΔMSE\) ↓\s+FWT \(ΔMSE\) ↓\s+Forgetting \(MSE\) ↓\s+Learning MSE ↓", table);
        Assert.Contains("lower is better", table, StringComparison.Ordinal);
        string html = File.ReadAllText(Path.Combine(_dir, "results", "drift", "report.html"));
        Assert.Contains("<th>Final MSE ↓</th>", System.Net.WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        var csv = File.ReadAllLines(Path.Combine(_dir, "results", "drift", "runs.csv"));
        int acc = Array.IndexOf(csv[0].Split(','), "acc");
        foreach (string row in csv.Skip(1))
        {
            var cells = row.Split(',');
            double finalMse = -double.Parse(cells[acc], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(finalMse > 0, row);
            string line = table.Split('\n').Single(l => l.StartsWith(cells[1] + " ", StringComparison.Ordinal));
            Assert.Matches($@"^{cells[1]}\s+1\s+{finalMse.ToString("F4", System.Globalization.CultureInfo.InvariantCulture).Replace(".", "\\.", StringComparison.Ordinal)} \(n=1\)", line);
        }
    }

    [Fact]
    public void Run_BadSpec_ExitsTwoNamingTheFieldAndQueuesNothing()
    {
        string spec = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(spec, "name: bad\nmodel:\n  variant: lstn\n");
        string db = Path.Combine(_dir, "fg.db");
        var run = Forgetgate("run", spec, "--db", db);
        Assert.Equal(2, run.Code);
        Assert.Contains("bad.yaml:3: model.variant: 'lstn' is neither a built-in variant", run.Err, StringComparison.Ordinal);
        Assert.Contains("did you mean 'lstm'", run.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(db), "a bad spec must not even create the database");
    }
}
