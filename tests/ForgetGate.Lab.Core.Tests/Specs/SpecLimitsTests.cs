using System.Diagnostics;
using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Core.Tests.Specs;

/// <summary>What a spec may ask for: sweep size, dataset sizes, split classes, safe names; and what the config hash covers.</summary>
public sealed class SpecLimitsTests
{
    private const string Minimal = """
        name: tiny
        scenario:
          kind: permuted
          tasks: 3
        model:
          variant: gru
          hidden: 32
        """;

    private static SpecValidationException Invalid(string yaml, long maxRuns = SpecReader.DefaultMaxRuns) =>
        Assert.Throws<SpecValidationException>(() => SpecReader.Parse(yaml, "exp.yaml", null, maxRuns));

    [Fact]
    public void PointCount_MixedConditionalSweep_EqualsTheDistinctPointsExpanded()
    {
        // Fields that apply to some points only (replay/ewc options, adam/sgd options, drift vs image fields),
        // swept before and after the fields they depend on: the count from list sizes must be the expansion's.
        var spec = SpecReader.Parse("""
            name: mixed
            sweep:
              strategy.lambda: [1, 2, 3]
              strategy.kind: [naive, replay, ewc]
              strategy.buffer_size: [10, 20]
              training.optimizer.momentum: [0.5, 0.9]
              training.optimizer.kind: [adam, sgd]
              scenario.kind: [permuted, drift]
              scenario.window: [4, 8]
              seed: [1, 2]
            """, "exp.yaml");
        var points = spec.Points;
        Assert.Equal(points.Count, spec.PointCount);
        Assert.Equal(points.Count, points.Select(p => p.ConfigHash).Distinct().Count());
        // (naive 1 + replay 2 + ewc 3) × (adam 1 + sgd 2) × (permuted 1 + drift 2) × 2 seeds
        Assert.Equal(6 * 3 * 3 * 2, points.Count);
    }

    [Fact]
    public void Parse_MillionPointSweep_IsCountedAndRefusedWithoutExpanding()
    {
        var clock = Stopwatch.StartNew();
        var e = Invalid(Minimal + "\nsweep:\n  seed: [" + string.Join(", ", Enumerable.Range(0, 10_000)) + "]\n  training.optimizer.lr: ["
            + string.Join(", ", Enumerable.Range(1, 100).Select(i => i + "e-4")) + "]\n");
        var error = Assert.Single(e.Errors);
        Assert.Equal("sweep", error.Path);
        Assert.Equal("expands to 1,000,000 runs (10000 seed × 100 training.optimizer.lr), more than the limit of 10,000; narrow the sweep, or pass --max-runs 1000000 if you mean it", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}"); // a generous bound: expansion would take minutes and gigabytes

        var allowed = SpecReader.Parse(Minimal + "\nsweep:\n  seed: [" + string.Join(", ", Enumerable.Range(0, 10_000)) + "]\n  training.optimizer.lr: [1e-3, 1e-4]\n", "exp.yaml", null, maxRuns: 20_000);
        Assert.Equal(20_000, allowed.PointCount);
        Assert.Equal("1", allowed.EnumeratePoints().Skip(2).First().Factors["seed"]); // streamed: last field fastest
    }

    [Theory]
    [InlineData("scenario:\n  kind: permuted\n  train_per_task: 1000000\n", "scenario.train_per_task", "1000000 training samples per task, but only 60000 exist in fashion-mnist (permuted tasks draw from all 10 classes); at most 60000")]
    [InlineData("scenario:\n  kind: rotated\n  test_per_task: 10001\n", "scenario.test_per_task", "10001 test samples per task, but only 10000 exist in fashion-mnist (rotated tasks draw from all 10 classes); at most 10000")]
    [InlineData("scenario:\n  kind: split\n  tasks: 5\n  classes_per_task: 3\n", "scenario.classes_per_task", "split with 5 tasks × 3 classes needs 15 classes but fashion-mnist has 10; at most 2 classes per task for 5 tasks")]
    [InlineData("scenario:\n  kind: split\n  dataset: mnist\n  tasks: 5\n  train_per_task: 12000\n  test_per_task: 1000\n", "scenario.train_per_task", "12000 training samples per task, but only 11263 exist in task 3's classes (4, 5) of mnist; at most 11263")]
    public void Parse_MoreThanTheDatasetHolds_NamesTheFieldAndTheLimit(string scenario, string path, string message)
    {
        var error = Assert.Single(Invalid("name: big\n" + scenario).Errors);
        Assert.Equal(path, error.Path);
        Assert.Equal(message, error.Message);
        Assert.True(error.Line > 0, "the error points at the field's line");
    }

    [Fact]
    public void Parse_DriftOfAMillionWindows_IsAllowed()
    {
        var spec = SpecReader.Parse("name: long\nscenario:\n  kind: drift\n  train_per_task: 1000000\n", "exp.yaml");
        Assert.Equal(1, spec.PointCount);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("'   '")]
    [InlineData("a/b")]
    [InlineData("-x")]
    [InlineData(".hidden")]
    [InlineData("my experiment")]
    public void Parse_UnsafeName_IsRefusedWithTheRule(string name)
    {
        var error = Assert.Single(Invalid($"name: {name}\n").Errors);
        Assert.Equal("name", error.Path);
        Assert.Contains("expected a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NameOf65Characters_IsRefused_And64IsFine()
    {
        Assert.Contains("(65 characters)", Assert.Single(Invalid($"name: {new string('a', 65)}\n").Errors).Message, StringComparison.Ordinal);
        Assert.Equal(1, SpecReader.Parse($"name: {new string('a', 64)}\n", "exp.yaml").PointCount);
        Assert.Equal(1, SpecReader.Parse("name: v1.2_run-3\n", "exp.yaml").PointCount);
    }

    [Fact]
    public void ConfigHash_IgnoresTheName_ButTheStoredConfigKeepsIt()
    {
        var a = Assert.Single(SpecReader.Parse(Minimal, "a.yaml").Points);
        var b = Assert.Single(SpecReader.Parse(Minimal.Replace("name: tiny", "name: renamed", StringComparison.Ordinal), "b.yaml").Points);
        var c = Assert.Single(SpecReader.Parse(Minimal.Replace("hidden: 32", "hidden: 33", StringComparison.Ordinal), "c.yaml").Points);
        Assert.Equal(a.ConfigHash, b.ConfigHash);
        Assert.NotEqual(a.ConfigHash, c.ConfigHash);
        Assert.Contains("\"name\":\"renamed\"", b.CanonicalJson, StringComparison.Ordinal);
        Assert.Equal(a.ConfigHash, RunConfig.FromCanonicalJson(a.CanonicalJson).Hash);
    }
}
