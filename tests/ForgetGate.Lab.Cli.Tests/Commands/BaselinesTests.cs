using ForgetGate.Lab.Cli.Tests.Support;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>The shipped baselines specs (issue 15) through the real process: they validate, and a cut-down smoke run reports each strategy's state.</summary>
public sealed class BaselinesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-baselines-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string RepositoryFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ForgetGate.Lab.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir!.FullName, relative);
    }

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    [Fact]
    public void SpecCheck_ShippedBaselines_EveryStrategyOnFourVariantsAndThreeSeeds()
    {
        var full = Forgetgate("spec", "check", RepositoryFile("experiments/baselines.yaml"));
        Assert.True(full.Code == 0, full.ToString());
        Assert.Contains("baselines: valid, 120 run(s)", full.Out, StringComparison.Ordinal);
        foreach (string kind in new[] { "naive", "cumulative", "replay", "ewc", "lwf", "si", "mas", "agem", "gem", "derpp" })
        {
            Assert.Contains($"strategy.kind={kind}", full.Out, StringComparison.Ordinal);
        }

        var smoke = Forgetgate("spec", "check", RepositoryFile("tests/ForgetGate.Lab.Cli.Tests/Specs/baselines-smoke.yaml"));
        Assert.True(smoke.Code == 0, smoke.ToString());
        Assert.Contains("baselines-smoke: valid, 20 run(s)", smoke.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void SpecCheck_LwfOnDrift_SaysWhatHasNoMeaningForRegression()
    {
        string spec = Path.Combine(_dir, "drift.yaml");
        File.WriteAllText(spec, "name: d\nscenario:\n  kind: drift\nstrategy:\n  kind: [lwf, derpp, si]\n");
        var check = Forgetgate("spec", "check", spec);
        Assert.True(check.Code == 0, check.ToString());
        Assert.Contains("note: lwf on drift (regression): there are no class probabilities, so the distillation term is α·MSE(f(x), f_old(x)) and strategy.lwf_temperature has no meaning (ignored).", check.Out, StringComparison.Ordinal);
        Assert.Contains("note: derpp on drift (regression):", check.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("note: si", check.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_SmokeSpecCutDown_ReportsStrategyStateGroupedByStrategy()
    {
        string db = Path.Combine(_dir, "fg.db");
        var run = Forgetgate(
            "run", RepositoryFile("tests/ForgetGate.Lab.Cli.Tests/Specs/baselines-smoke.yaml"), "--db", db, "--threads", "2",
            "--set", "scenario.train_per_task=200", "--set", "scenario.test_per_task=100", "--set", "model.hidden=8",
            "--set", "training.epochs_per_task=1", "--set", "seed=1", "--set", "model.variant=[lstm,gru]",
            "--set", "strategy.kind=[naive,gem,derpp]");
        Assert.True(run.Code == 0, run.ToString());
        string html = File.ReadAllText(Path.Combine(_dir, "baselines-smoke", "report.html"));
        Assert.Contains("grouped by <b>strategy / variant</b>", html, StringComparison.Ordinal);
        int state = html.IndexOf("<h2>Strategy state</h2>", StringComparison.Ordinal);
        Assert.True(state > 0, "no strategy state table");
        string table = html[state..html.IndexOf("</table>", state, StringComparison.Ordinal)];
        // GEM's memory is filled at every task's end, the last one included: 3 × min(256, 200) = 600 references of
        // 8 bytes. DER++ keeps its 500-entry reservoir of the 600 samples seen, each a reference plus 10 stored logits:
        // 500 × (8 + 40) bytes. Naive keeps nothing and has no row.
        Assert.Contains("<tr><td>gem / lstm</td><td>600</td><td>4.7 KiB</td>", table, StringComparison.Ordinal);
        Assert.Contains("<tr><td>derpp / gru</td><td>500</td><td>23.4 KiB</td><td>23.4 KiB</td><td>–</td></tr>", table, StringComparison.Ordinal);
        Assert.DoesNotContain("naive", table, StringComparison.Ordinal);
    }
}
