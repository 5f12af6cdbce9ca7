using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// scenario.sequence: pixels through the real <c>forgetgate</c> process on real Fashion-MNIST: a tiny permuted pixel-MNIST
/// sweep (T = 784 steps of one pixel) with a built-in and a cell file trains, stores its rows, reports and reproduces.
/// </summary>
public sealed class PixelSequenceEndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-pixels-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ForgetGate.Lab.sln")))
        {
            dir = dir.Parent;
        }

        return dir!.FullName;
    }

    [Fact]
    public async Task Run_PermutedPixelSequences_StoresRowsOf784StepsReportsAndReproduces()
    {
        // The janet cell file beside the spec (cells/<name>.yaml), as a researcher's own gate would be.
        Directory.CreateDirectory(Path.Combine(_dir, "cells"));
        File.Copy(Path.Combine(RepositoryRoot(), "experiments", "cells", "janet.yaml"), Path.Combine(_dir, "cells", "janet.yaml"));
        string spec = Path.Combine(_dir, "pixels.yaml");
        File.WriteAllText(spec, """
            name: pixels
            scenario:
              kind: permuted
              sequence: pixels
              tasks: 2
              train_per_task: 24
              test_per_task: 12
            model:
              variant: [lstm, janet]
              hidden: 6
            training:
              batch_size: 12
            """);
        string db = Path.Combine(_dir, "results", "fg.db");
        Directory.CreateDirectory(Path.GetDirectoryName(db)!);

        var check = Forgetgate("spec", "check", spec);
        Assert.True(check.Code == 0, check.ToString());
        var run = Forgetgate("run", spec, "--db", db, "--concurrency", "1", "--threads", "2");
        Assert.True(run.Code == 0, run.ToString());
        Assert.Contains("2 run(s); 2 newly queued", run.Out, StringComparison.Ordinal);

        var store = RunStores.Open(db);
        var sweep = await store.FindSweepAsync("pixels", CancellationToken.None);
        var data = await store.LoadSweepAsync(sweep!.Id, CancellationToken.None);
        Assert.Equal(2, data.Runs.Count);
        Assert.All(data.Runs, r =>
        {
            Assert.Equal("succeeded", r.Status);
            Assert.Contains("\"sequence\":\"pixels\"", r.ConfigJson, StringComparison.Ordinal);
        });

        // Every evaluation row: runs × (untrained + 2 tasks) × 2 eval tasks × (accuracy, loss), each a real number.
        Assert.Equal(2 * 3 * 2 * 2, data.Evaluations.Count);
        Assert.All(data.Evaluations, e => Assert.True(double.IsFinite(e.Value), e.ToString()));
        Assert.All(data.Evaluations.Where(e => e.Metric == "accuracy"), e => Assert.InRange(e.Value, 0, 1));

        // Gates through time were read over all 784 pixel steps (one per step), for the built-in and the cell alike.
        Assert.Equal(2 * 3 * 2, data.GateSteps.Count);
        Assert.All(data.GateSteps, g =>
        {
            Assert.Equal(784, g.Row.Steps);
            Assert.Equal(784, g.Row.StepMeans.Count);
            Assert.Equal(6 * 784, g.Row.SampleGates.Count);
        });

        string html = File.ReadAllText(Path.Combine(_dir, "results", "pixels", "report.html"));
        Assert.Contains("Scenario: permuted fashion-mnist, 2 tasks, read pixel by pixel", html, StringComparison.Ordinal);

        // Reproduce each run with another thread count: every row identical.
        foreach (var r in data.Runs)
        {
            var reproduce = Forgetgate("reproduce", r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--db", db, "--threads", "1");
            Assert.True(reproduce.Code == 0, reproduce.ToString());
            Assert.Contains("bit-identical to the stored run.", reproduce.Out, StringComparison.Ordinal);
        }
    }
}
