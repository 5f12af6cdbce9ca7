using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>The report model built from stored rows (moved from the CLI's ReportCommand with its assertions unchanged).</summary>
public sealed class ReportModelBuilderTests
{
    private static StoredRun Run(long id, string strategyJson, long seed = 1) => new(
        id, $$"""{"model":{"variant":"lstm"},"scenario":{"kind":"permuted"},"seed":{{seed}},"strategy":{{strategyJson}}}""",
        $"hash{id}", "lstm", seed, "succeeded", 1, null, null, null, "v", "{}", "fp");

    /// <summary>R for T = 2 at epoch 1: row 0 untrained, then diag values d1, d2.</summary>
    private static IEnumerable<StoredEvaluation> Matrix(long run, double d1, double d2) =>
    [
        new(run, 0, 0, 0, "accuracy", 0.1), new(run, 0, 0, 1, "accuracy", 0.1),
        new(run, 1, 1, 0, "accuracy", d1), new(run, 1, 1, 1, "accuracy", 0.2),
        new(run, 2, 1, 0, "accuracy", d1 - 0.3), new(run, 2, 1, 1, "accuracy", d2),
    ];

    [Fact]
    public void ToModel_PairsEachRunWithTheCumulativeRunOfItsPoint_ForIntransigence()
    {
        var runs = new[]
        {
            Run(1, """{"kind":"naive"}"""),
            Run(2, """{"kind":"replay","buffer_size":500,"replay_fraction":0.5}"""),
            Run(3, """{"kind":"cumulative"}"""),
            Run(4, """{"kind":"naive"}""", seed: 2), // no cumulative run with seed 2: no intransigence
        };
        var evaluations = Matrix(1, 0.80, 0.70).Concat(Matrix(2, 0.85, 0.75)).Concat(Matrix(3, 0.90, 0.95)).Concat(Matrix(4, 0.8, 0.7)).ToList();
        var data = new SweepData(new SweepInfo(1, "s", "", "h", ""), runs, evaluations, [], [], [], []);

        var model = ReportModelBuilder.Build(data, DateTimeOffset.UnixEpoch);

        // Groups come from fields every run has: strategy.kind (buffer_size exists only for replay).
        Assert.Equal(["naive", "replay", "cumulative", "naive"], model.Runs.Select(r => r.Group));
        Assert.Equal("strategy", model.GroupBy);
        double I(long id) => model.Runs.Single(r => r.RunId == id).Summary.Single(s => s.Name == "intransigence").Value;
        // ((0.90 − 0.80) + (0.95 − 0.70)) / 2 = 0.175 and ((0.90 − 0.85) + (0.95 − 0.75)) / 2 = 0.125
        Assert.Equal(0.175, I(1), 12);
        Assert.Equal(0.125, I(2), 12);
        Assert.DoesNotContain(model.Runs.Single(r => r.RunId == 3).Summary, s => s.Name == "intransigence");
        Assert.DoesNotContain(model.Runs.Single(r => r.RunId == 4).Summary, s => s.Name == "intransigence");
    }

    [Fact]
    public void ToModel_SweepVaryingStrategyAndVariant_GroupsByStrategyFirst()
    {
        static StoredRun Point(long id, string variant, string kind) => new(
            id, $$$"""{"model":{"variant":"{{{variant}}}"},"scenario":{"kind":"permuted"},"seed":1,"strategy":{"kind":"{{{kind}}}"}}""",
            $"hash{id}", variant, 1, "succeeded", 1, null, null, null, "v", "{}", "fp");
        var runs = new[] { Point(1, "lstm", "agem"), Point(2, "gru", "agem"), Point(3, "lstm", "naive"), Point(4, "gru", "naive") };
        var data = new SweepData(new SweepInfo(1, "s", "", "h", ""), runs, [], [], [], [], []);

        var model = ReportModelBuilder.Build(data, DateTimeOffset.UnixEpoch);

        Assert.Equal("strategy / variant", model.GroupBy);
        Assert.Equal(["agem / lstm", "agem / gru", "naive / lstm", "naive / gru"], model.Runs.Select(r => r.Group));
    }

    [Fact]
    public void Build_SweepVaryingInit_GroupsByInit_AndARunWithoutTheFieldIsRnn()
    {
        // model.init is left out of a config at its default (rnn), as in every run stored before the field existed.
        static StoredRun Point(long id, string model) => new(
            id, $$$"""{"model":{{{model}}},"scenario":{"kind":"permuted"},"seed":1,"strategy":{"kind":"naive"}}""",
            $"hash{id}", "cifg", 1, "succeeded", 1, null, null, null, "v", "{}", "fp");
        var runs = new[] { Point(1, """{"variant":"cifg"}"""), Point(2, """{"init":"linear","variant":"cifg"}""") };
        var model = ReportModelBuilder.Build(new SweepData(new SweepInfo(1, "s", "", "h", ""), runs, [], [], [], [], []), DateTimeOffset.UnixEpoch);

        Assert.Equal("init", model.GroupBy);
        Assert.Equal(["rnn", "linear"], model.Runs.Select(r => r.Group));

        var same = new[] { Point(1, """{"variant":"cifg"}"""), Point(2, """{"variant":"lstm"}""") };
        Assert.Equal("variant", ReportModelBuilder.Build(new SweepData(new SweepInfo(1, "s", "", "h", ""), same, [], [], [], [], []), DateTimeOffset.UnixEpoch).GroupBy);
    }
}
