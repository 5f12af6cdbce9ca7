using System.Globalization;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Tests.Specs;

public sealed class SpecReaderTests
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

    private static SpecValidationException Invalid(string yaml, params string[] overrides) =>
        Assert.Throws<SpecValidationException>(() => SpecReader.Parse(yaml, "exp.yaml", overrides));

    [Fact]
    public void Parse_Minimal_FillsDefaultsAndDropsFieldsOfOtherKinds()
    {
        var spec = SpecReader.Parse(Minimal, "exp.yaml");
        var point = Assert.Single(spec.Points);
        var c = point.Config;
        Assert.Equal("tiny", c.Name);
        Assert.Equal(Variant.Gru, c.Model.Variant);
        Assert.Equal(32, c.Model.Hidden);
        Assert.Equal(3, c.Scenario.Tasks);
        Assert.Equal(128, c.Training.BatchSize);
        Assert.Equal(1e-3, c.Training.Optimizer.Lr);
        Assert.Contains("\"identity_first\":true", point.CanonicalJson, StringComparison.Ordinal);
        Assert.DoesNotContain("window", point.CanonicalJson, StringComparison.Ordinal); // a drift field
        Assert.DoesNotContain("momentum", point.CanonicalJson, StringComparison.Ordinal); // an sgd field
        Assert.DoesNotContain("max_attempts", point.CanonicalJson, StringComparison.Ordinal); // a queue hint
        Assert.Equal(64, point.ConfigHash.Length);
    }

    [Fact]
    public void Parse_SweepBlockAndInlineLists_AreACartesianProduct()
    {
        var spec = SpecReader.Parse(Minimal.Replace("variant: gru", "variant: [lstm, gru, cifg]", StringComparison.Ordinal) + """

            sweep:
              seed: [1, 2]
              training.optimizer.lr: [1e-3, 3e-4]
            """, "exp.yaml");
        Assert.Equal(3 * 2 * 2, spec.Points.Count);
        Assert.Equal(12, spec.Points.Select(p => p.ConfigHash).Distinct().Count());
        Assert.Equal(["model.variant", "seed", "training.optimizer.lr"], spec.SweptPaths);
        Assert.Equal("0.0003", spec.Points[1].Factors["training.optimizer.lr"]);
    }

    [Fact]
    public void Parse_DuplicatePoints_CollapseToOne()
    {
        var spec = SpecReader.Parse(Minimal + "\nsweep:\n  seed: [1, 1, 2]\n  strategy.kind: [naive, ewc]\n  strategy.lambda: [1, 2]\n", "exp.yaml");
        // Seeds dedupe to {1, 2}; lambda only applies to ewc, so naive × {1, 2} is one config: 2 × (1 + 2) = 6.
        Assert.Equal(6, spec.Points.Count);
        Assert.Equal(6, spec.Points.Select(p => p.ConfigHash).Distinct().Count());
    }

    [Fact]
    public void Parse_UnknownField_SuggestsTheNearestAndNamesFileAndLine()
    {
        var e = Invalid(Minimal.Replace("hidden: 32", "hiden: 32", StringComparison.Ordinal));
        var error = Assert.Single(e.Errors);
        Assert.Equal("exp.yaml", error.File);
        Assert.Equal(7, error.Line);
        Assert.Equal("model.hiden", error.Path);
        Assert.Contains("did you mean 'model.hidden'", error.Message, StringComparison.Ordinal);
        Assert.Contains("exp.yaml:7: model.hiden", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        var e = Invalid("""
            name: x
            model:
              variant: lstn
              hidden: -4
            training:
              batch_size: many
              eval_every_epoch: "yes"
            strategy:
              kind: magic
            """);
        Assert.Equal(5, e.Errors.Count);
        Assert.Contains(e.Errors, x => x.Path == "model.variant" && x.Message.Contains("did you mean 'lstm'", StringComparison.Ordinal) && x.Message.Contains("ur-lstm", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "model.hidden" && x.Message.Contains("-4 is out of range; expected an integer in [1, 4096]", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "training.batch_size" && x.Message.Contains("'many' is not an integer", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "training.eval_every_epoch" && x.Message.Contains("not a boolean", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "strategy.kind" && x.Message.Contains("naive, cumulative, replay, ewc", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_FieldOfAnotherKind_IsAnError()
    {
        var e = Invalid(Minimal.Replace("tasks: 3", "tasks: 3\n  window: 16", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "scenario.window" && x.Message.Contains("applies only when scenario.kind is drift", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MissingName_IsRequired() =>
        Assert.Contains(Invalid("model:\n  hidden: 8\n").Errors, x => x.Path == "name" && x.Message.StartsWith("is required", StringComparison.Ordinal));

    [Fact]
    public void Parse_BadSweepPathAndNonList_AreErrors()
    {
        var e = Invalid(Minimal + "\nsweep:\n  model.hiden: [8, 16]\n  seed: 3\n");
        Assert.Contains(e.Errors, x => x.Path == "model.hiden" && x.Message.Contains("did you mean 'model.hidden'", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "sweep.seed" && x.Message.Contains("expected a list", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_NameCannotBeSwept() =>
        Assert.Contains(Invalid(Minimal.Replace("name: tiny", "name: [a, b]", StringComparison.Ordinal)).Errors, x => x.Path == "name" && x.Message.Contains("cannot be swept", StringComparison.Ordinal));

    [Fact]
    public void Parse_InvalidYaml_NamesTheLine()
    {
        var e = Invalid("name: x\nmodel: [unclosed\n");
        Assert.Equal("(yaml)", Assert.Single(e.Errors).Path);
        Assert.True(e.Errors[0].Line >= 2);
    }

    [Fact]
    public void Parse_Overrides_ReplaceValuesAndCanSweep()
    {
        var spec = SpecReader.Parse(Minimal, "exp.yaml", ["model.hidden=64", "seed=[1,2,3]"]);
        Assert.Equal(3, spec.Points.Count);
        Assert.All(spec.Points, p => Assert.Equal(64, p.Config.Model.Hidden));
    }

    [Fact]
    public void Parse_BadOverride_NamesTheOverride()
    {
        var e = Invalid(Minimal, "model.hidden=big", "nonsense");
        Assert.Contains(e.Errors, x => x.File == "--set" && x.Path == "model.hidden" && x.Message.Contains("'big'", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.File == "--set" && x.Path == "nonsense" && x.Message.Contains("field.path=value", StringComparison.Ordinal));
    }

    [Fact]
    public void CanonicalJson_IsSortedInvariantAndRoundTrips()
    {
        var point = SpecReader.Parse(Minimal + "\ntraining:\n  optimizer:\n    lr: 0.00025\n", "exp.yaml").Points[0];
        string json = point.CanonicalJson;
        Assert.StartsWith("{\"model\":{\"engine\":\"managed\",\"hidden\":32,\"layers\":1,\"variant\":\"gru\"},\"name\":\"tiny\"", json, StringComparison.Ordinal);
        Assert.Contains("\"lr\":0.00025", json, StringComparison.Ordinal);
        Assert.Contains("\"validation_fraction\":0.0", json, StringComparison.Ordinal);

        var back = RunConfig.FromCanonicalJson(json);
        Assert.Equal(json, back.CanonicalJson);
        Assert.Equal(point.ConfigHash, back.Hash);
        Assert.Equal(point.Config.Training, back.Training);
    }

    [Fact]
    public void CanonicalJson_SameUnderAnotherCulture()
    {
        string invariant = SpecReader.Parse(Minimal + "\ntraining:\n  optimizer:\n    lr: 0.5\n", "exp.yaml").Points[0].CanonicalJson;
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            Assert.Equal(invariant, SpecReader.Parse(Minimal + "\ntraining:\n  optimizer:\n    lr: 0.5\n", "exp.yaml").Points[0].CanonicalJson);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void FromCanonicalJson_TamperedConfig_IsRejected()
    {
        var json = SpecReader.Parse(Minimal, "exp.yaml").Points[0].CanonicalJson.Replace("\"hidden\":32", "\"hidden\":0", StringComparison.Ordinal);
        var e = Assert.Throws<SpecValidationException>(() => RunConfig.FromCanonicalJson(json, "run 7"));
        Assert.Contains("run 7: model.hidden: 0 is out of range", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_Missing_NamesThePath()
    {
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.ReadFile("/nonexistent/spec.yaml"));
        Assert.Contains("/nonexistent/spec.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Engine_DefaultsToManagedAndTakesTorch()
    {
        var plain = Assert.Single(SpecReader.Parse(Minimal, "exp.yaml").Points);
        Assert.Equal("managed", plain.Config.Model.Engine);
        Assert.Contains("\"engine\":\"managed\"", plain.CanonicalJson, StringComparison.Ordinal);
        var torch = Assert.Single(SpecReader.Parse(Minimal, "exp.yaml", ["model.engine=torch"]).Points);
        Assert.Equal("torch", torch.Config.Model.Engine);
        Assert.NotEqual(plain.ConfigHash, torch.ConfigHash);
        Assert.Equal("torch", RunConfig.FromCanonicalJson(torch.CanonicalJson).Model.Engine);
    }

    [Fact]
    public void Parse_Init_DefaultRnnLeavesTheConfigAndHashOfEarlierRuns()
    {
        // aa0e2894cf9d… is what `forgetgate spec check` printed for Minimal on the build before model.init existed:
        // runs stored then must keep their hash (reuse, store copy), so at its default the field is left out.
        var plain = Assert.Single(SpecReader.Parse(Minimal, "exp.yaml").Points);
        var rnn = Assert.Single(SpecReader.Parse(Minimal, "exp.yaml", ["model.init=rnn"]).Points);
        Assert.StartsWith("aa0e2894cf9d", plain.ConfigHash, StringComparison.Ordinal);
        Assert.Equal(plain.CanonicalJson, rnn.CanonicalJson);
        Assert.Equal(plain.ConfigHash, rnn.ConfigHash);
        Assert.DoesNotContain("\"init\"", plain.CanonicalJson, StringComparison.Ordinal);
        Assert.Equal(ParameterInitKind.Rnn, plain.Config.Model.Init);
        Assert.Equal(ParameterInitKind.Rnn, RunConfig.FromCanonicalJson(plain.CanonicalJson).Model.Init);
    }

    [Fact]
    public void Parse_InitLinear_IsStoredHashedAndReadBack()
    {
        var linear = Assert.Single(SpecReader.Parse(Minimal, "exp.yaml", ["model.init=linear"]).Points);
        Assert.Equal(ParameterInitKind.Linear, linear.Config.Model.Init);
        Assert.Contains("\"init\":\"linear\"", linear.CanonicalJson, StringComparison.Ordinal);
        Assert.NotEqual(Assert.Single(SpecReader.Parse(Minimal, "exp.yaml").Points).ConfigHash, linear.ConfigHash);
        Assert.Equal(ParameterInitKind.Linear, RunConfig.FromCanonicalJson(linear.CanonicalJson).Model.Init);
        Assert.Equal(2, SpecReader.Parse(Minimal, "exp.yaml", ["model.init=[rnn,linear]"]).Points.Count);
    }

    [Fact]
    public void Parse_UnknownInit_NamesFieldAndChoices()
    {
        var e = Invalid(Minimal, "model.init=xavier");
        Assert.Contains("model.init", e.Message, StringComparison.Ordinal);
        Assert.Contains("rnn, linear", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownEngine_NamesFieldAndChoices()
    {
        var e = Invalid(Minimal, "model.engine=cuda");
        Assert.Contains("model.engine", e.Message, StringComparison.Ordinal);
        Assert.Contains("managed", e.Message, StringComparison.Ordinal);
        Assert.Contains("torch", e.Message, StringComparison.Ordinal);
    }
}
