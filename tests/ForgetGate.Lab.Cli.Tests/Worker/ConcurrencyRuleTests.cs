using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Cli.Worker;

namespace ForgetGate.Lab.Cli.Tests.Worker;

/// <summary><c>--concurrency auto</c> picks what README's rule says for given core counts and model sizes.</summary>
public sealed class ConcurrencyRuleTests
{
    [Theory]
    // cores, hidden, batch, points → runs × threads
    [InlineData(1, 128, 128, null, 1, 1)]
    [InlineData(2, 128, 128, null, 2, 1)]      // 2 cores: runs side by side (measured)
    [InlineData(4, 128, 128, null, 2, 2)]      // small model: runs of 2 threads
    [InlineData(8, 128, 128, null, 4, 2)]
    [InlineData(16, 128, 128, null, 8, 2)]
    [InlineData(16, 64, 64, null, 8, 2)]
    [InlineData(16, 256, 1024, null, 4, 4)]    // large model: runs of 4 threads
    [InlineData(8, 256, 1024, null, 2, 4)]
    [InlineData(2, 256, 1024, null, 2, 1)]
    [InlineData(16, 128, 128, 3, 3, 5)]        // 3 points on 16 cores: 3 runs, the cores shared out
    [InlineData(16, 128, 32, 1, 1, 2)]         // one run of batch 32 keeps only 2 workers busy
    [InlineData(16, 128, 128, 1, 1, 8)]        // one run of batch 128: 8 workers of 16 rows
    [InlineData(4, 32, 8, null, 4, 1)]         // batch 8: one worker is all a run pays for
    public void Choose_FollowsTheRule(int cores, int hidden, int batch, int? points, int runs, int threads)
    {
        var choice = ConcurrencyRule.Choose(cores, hidden, batch, points);
        Assert.Equal((runs, threads), (choice.Runs, choice.ThreadsPerRun));
        Assert.True(choice.Runs * choice.ThreadsPerRun <= cores || choice.Runs == 1, choice.Reason);
    }

    [Fact]
    public void Choose_UnknownModel_AssumesTheSpecDefaults_AndSaysSo()
    {
        var choice = ConcurrencyRule.Choose(8);
        Assert.Equal((4, 2), (choice.Runs, choice.ThreadsPerRun));
        Assert.Contains("assumed H=128 B=128", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveAuto_ExplicitValuesStay_AutoOnesAreFilledAndExplained()
    {
        var both = new WorkerOptions { Concurrency = 3, ThreadsPerRun = 2 };
        both.ResolveAuto(16);
        Assert.Equal((3, 2), (both.Concurrency, both.ThreadsPerRun));
        Assert.Null(both.ConcurrencyChoice);

        var auto = new WorkerOptions();
        auto.ResolveAuto(16);
        Assert.Equal((8, 2), (auto.Concurrency, auto.ThreadsPerRun));
        Assert.StartsWith("concurrency auto: 8 run(s) at once × 2 thread(s) each (16 cores", auto.ConcurrencyChoice, StringComparison.Ordinal);

        var threadsGiven = new WorkerOptions { ThreadsPerRun = 4, AutoHint = (null, null, 2) };
        threadsGiven.ResolveAuto(16);
        Assert.Equal((2, 4), (threadsGiven.Concurrency, threadsGiven.ThreadsPerRun));

        var runsGiven = new WorkerOptions { Concurrency = 3 };
        runsGiven.ResolveAuto(16);
        Assert.Equal((3, 5), (runsGiven.Concurrency, runsGiven.ThreadsPerRun));

        var invalid = new WorkerOptions { Concurrency = 0 };
        invalid.ResolveAuto(16);
        Assert.Equal(0, invalid.Concurrency); // left for the validator to name
    }

    [Fact]
    public void LargestModel_ReadsHiddenAndBatchFromConfigs()
    {
        string[] configs =
        [
            """{"model":{"hidden":64,"layers":1},"training":{"batch_size":256}}""",
            """{"model":{"hidden":256,"layers":1},"training":{"batch_size":32}}""",
            """{"executor":"synthetic"}""",
            "not json",
        ];
        Assert.Equal((256, 256), ConcurrencyRule.LargestModel(configs));
        Assert.Equal((null, null), ConcurrencyRule.LargestModel([]));
    }

    [Theory]
    [InlineData("auto", null)]
    [InlineData("AUTO", null)]
    [InlineData("3", 3)]
    public void Parse_AutoOrACount(string value, int? expected) => Assert.Equal(expected, ConcurrencyRule.Parse(value, "--concurrency"));

    [Theory]
    [InlineData("0")]
    [InlineData("257")]
    [InlineData("two")]
    [InlineData("-1")]
    public void Parse_Other_IsBadInputNamingTheValue(string value)
    {
        var e = Assert.Throws<CliException>(() => ConcurrencyRule.Parse(value, "--concurrency"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains($"--concurrency '{value}': expected auto or a number of runs 1..256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Worker_StartsWithTheAutoChoice_PrintedOnce()
    {
        string dir = Directory.CreateTempSubdirectory("fg-auto-").FullName;
        try
        {
            var r = CliProcess.Run(dir, null, "worker", "--db", Path.Combine(dir, "w.db"), "--until-empty");
            Assert.True(r.Code == 0, r.ToString());
            var expected = ConcurrencyRule.Choose(Environment.ProcessorCount);
            string all = r.Out + r.Err;
            Assert.Contains($"concurrency auto: {expected.Runs} run(s) at once × {expected.ThreadsPerRun} thread(s) each ({expected.Reason})", all, StringComparison.Ordinal);
            Assert.Contains($"{expected.Runs} slot(s), {expected.ThreadsPerRun} thread(s) per run", all, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
