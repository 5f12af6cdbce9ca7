using System.Text.RegularExpressions;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>
/// The "many machines" path through the real <c>forgetgate</c> process: a sweep trained on a laptop's SQLite file
/// (real Fashion-MNIST) is copied into the shared PostgreSQL database, and <c>report</c> and <c>export</c> give the
/// same files from either store.
/// </summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class ManyMachinesTests : IDisposable
{
    private readonly TestDatabase _laptop = new(StoreKind.Sqlite, migrate: false);
    private readonly TestDatabase _server = new(StoreKind.Postgres, migrate: false);

    public void Dispose()
    {
        _laptop.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task StoreCopy_LaptopSweepIntoServer_ReportAndExportIdenticalFromEitherStore()
    {
        string spec = Path.Combine(_laptop.Directory, "tiny.yaml");
        File.WriteAllText(spec, """
            name: tiny
            scenario:
              kind: permuted
              tasks: 2
              train_per_task: 200
              test_per_task: 100
            model:
              variant: [lstm, cifg]
              hidden: 8
            training:
              batch_size: 50
            """);
        var run = await CliCommandTests.RunCliAsync("run", spec, "--db", _laptop.Db, "--out", Path.Combine(_laptop.Directory, "laptop-report"));
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);

        var copy = await CliCommandTests.RunCliAsync("store", "copy", "--from", _laptop.Db, "--to", _server.Db);
        Assert.True(copy.ExitCode == 0, copy.Stdout + copy.Stderr);
        Assert.Contains("sweep 'tiny' → 1: 2 run(s) copied, 0 updated, 0 already there", copy.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("password", copy.Stdout, StringComparison.OrdinalIgnoreCase);
        var again = await CliCommandTests.RunCliAsync("store", "copy", "--from", _laptop.Db, "--to", _server.Db, "--sweep", "tiny");
        Assert.Contains("0 run(s) copied, 0 updated, 2 already there; 0 row(s) written", again.Stdout, StringComparison.Ordinal);

        string fromLaptop = Path.Combine(_laptop.Directory, "a");
        string fromServer = Path.Combine(_laptop.Directory, "b");
        Assert.Equal(0, (await CliCommandTests.RunCliAsync("report", "tiny", "--db", _laptop.Db, "--out", fromLaptop)).ExitCode);
        var report = await CliCommandTests.RunCliAsync("report", "tiny", "--db", _server.Db, "--out", fromServer);
        Assert.True(report.ExitCode == 0, report.Stdout + report.Stderr);
        foreach (string file in new[] { "report.html", "report.md", "runs.csv", "evaluations.csv" })
        {
            // The only difference allowed: the moment each report was generated ("generated 2026-11-22 16:03:33Z").
            Assert.Equal(WithoutGenerationTime(File.ReadAllText(Path.Combine(fromLaptop, file))), WithoutGenerationTime(File.ReadAllText(Path.Combine(fromServer, file))));
        }

        // Gates through time of the real run: one row per evaluation (untrained, after T1, after T2) × task × layer × run,
        // the same rows in both stores, and a TensorBoard export from either store the same bytes.
        Assert.Equal(3 * 2 * 1 * 2, _laptop.Scalar<long>("SELECT COUNT(*) FROM gate_steps"));
        Assert.Equal(3 * 2 * 1 * 2, _server.Scalar<long>("SELECT COUNT(*) FROM gate_steps"));
        Assert.Contains("Forget gates through time", File.ReadAllText(Path.Combine(fromServer, "report.html")), StringComparison.Ordinal);
        string tbLaptop = Path.Combine(_laptop.Directory, "tb-a"), tbServer = Path.Combine(_laptop.Directory, "tb-b");
        var export = await CliCommandTests.RunCliAsync("export", "tiny", "--format", "tensorboard", "--db", _laptop.Db, "--out", tbLaptop);
        Assert.True(export.ExitCode == 0, export.Stdout + export.Stderr);
        Assert.Contains("2 run folder(s); view them with: tensorboard --logdir " + tbLaptop, export.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, (await CliCommandTests.RunCliAsync("export", "tiny", "--format", "tensorboard", "--db", _server.Db, "--out", tbServer)).ExitCode);
        var files = Directory.GetFiles(tbLaptop, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(tbLaptop, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        Assert.Matches(@"^1-lstm-seed0/events\.out\.tfevents\.\d{10}\.forgetgate$", files[0]);
        Assert.Equal(files, Directory.GetFiles(tbServer, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(tbServer, f)).Order(StringComparer.Ordinal));
        foreach (string file in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(tbLaptop, file)), File.ReadAllBytes(Path.Combine(tbServer, file)));
        }

        var status = await CliCommandTests.RunCliAsync("status", "--db", _server.Db);
        Assert.Matches(@"1 tiny\s+0\s+0\s+2\s+0\s+0\s+100 %", status.Stdout);
    }

    private static string WithoutGenerationTime(string text) =>
        Regex.Replace(text, @"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", "<generated>");
}
