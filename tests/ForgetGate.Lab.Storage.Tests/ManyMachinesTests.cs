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

        var status = await CliCommandTests.RunCliAsync("status", "--db", _server.Db);
        Assert.Matches(@"1 tiny\s+0\s+0\s+2\s+0\s+0\s+100 %", status.Stdout);
    }

    private static string WithoutGenerationTime(string text) =>
        Regex.Replace(text, @"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", "<generated>");
}
