using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>
/// scenario.sequence is left out of a config at its default (rows), so a sweep of rows against pixels stores the field
/// in the pixels runs only; the report must still group by it, and say how the images were read.
/// </summary>
public sealed class SequenceReportTests
{
    private static StoredRun Run(long id, string variant, string? sequence) => new(
        id, $$"""{"model":{"variant":"{{variant}}"},"scenario":{"dataset":"fashion-mnist","kind":"permuted",{{(sequence is null ? "" : $"\"sequence\":\"{sequence}\",")}}"tasks":2},"seed":1}""",
        $"hash{id}", variant, 1, "succeeded", 1, null, null, null, "v", "{}", "fp");

    [Fact]
    public void Build_RowsAgainstPixels_GroupsBySequenceAndTheHeaderNamesBothReadings()
    {
        var runs = new[] { Run(1, "lstm", null), Run(2, "lstm", "pixels"), Run(3, "gru", null), Run(4, "gru", "pixels") };
        var data = new SweepData(new SweepInfo(1, "s", "", "h", ""), runs, [], [], [], [], []);

        var model = ReportModelBuilder.Build(data, DateTimeOffset.UnixEpoch);

        Assert.Equal("variant / sequence", model.GroupBy);
        Assert.Equal(["lstm / rows", "lstm / pixels", "gru / rows", "gru / pixels"], model.Runs.Select(r => r.Group));
        Assert.Equal(
            "permuted fashion-mnist, 2 tasks, read row by row (sequence: rows, one step per image row: 28 steps of 28 pixels); "
            + "permuted fashion-mnist, 2 tasks, read pixel by pixel (sequence: pixels, one step per pixel: 784 steps of 1 value for 28×28 images)",
            ScenarioText.Describe(model.Runs));
        string md = ReportWriter.Render(model)["report.md"];
        Assert.Contains("Scenario: permuted fashion-mnist, 2 tasks, read row by row", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_DriftRuns_GetNoSequence()
    {
        var drift = new StoredRun(1, """{"model":{"variant":"lstm"},"scenario":{"drift":"abrupt","family":"sinusoid","kind":"drift","tasks":3,"window":32},"seed":1}""",
            "h1", "lstm", 1, "succeeded", 1, null, null, null, "v", "{}", "fp");
        var model = ReportModelBuilder.Build(new SweepData(new SweepInfo(1, "s", "", "h", ""), [drift], [], [], [], [], []), DateTimeOffset.UnixEpoch);
        Assert.Equal("drift (abrupt, sinusoid), 3 tasks, windows of 32 steps", ScenarioText.Describe(model.Runs));
        Assert.DoesNotContain("sequence", model.GroupBy, StringComparison.Ordinal);
    }
}
