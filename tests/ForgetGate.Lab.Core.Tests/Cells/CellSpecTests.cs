using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Core.Tests.Cells;

/// <summary>Cells named by model.variant: inline cells:, shipped files, the config hash, and every bad-input error.</summary>
public sealed class CellSpecTests
{
    /// <summary>The repository's experiments folder (the shipped cells live in experiments/cells).</summary>
    internal static string Experiments
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "experiments", "cells");
                if (Directory.Exists(candidate))
                {
                    return Path.Combine(dir.FullName, "experiments");
                }
            }

            throw new DirectoryNotFoundException("experiments/cells not found above " + AppContext.BaseDirectory);
        }
    }

    private const string Inline = """
        name: cells-inline
        scenario:
          kind: permuted
          tasks: 2
        model:
          variant: [mygate, lstm]
          hidden: 8
        cells:
          mygate:
            gates: [f, g]
            states: []
            init: {f: constant(1)}
            step: |
              f_ = sigmoid(f)
              h' = f_ * h + (1 - f_) * tanh(g)
            forget: f_
        """;

    [Fact]
    public void InlineCell_ResolvedConfigCarriesTheDefinition()
    {
        var spec = SpecReader.Parse(Inline, "exp.yaml");
        Assert.Equal(2, spec.Points.Count);
        var cellPoint = spec.Points.Single(p => p.Config.Model.VariantName == "mygate");
        Assert.NotNull(cellPoint.Config.Model.Cell);
        Assert.Contains("\"cell\"", cellPoint.CanonicalJson, StringComparison.Ordinal);
        Assert.Contains("h' = f_ * h + (1 - f_) * tanh(g)", cellPoint.Config.Model.Cell!.Definition.StepText, StringComparison.Ordinal);
        var lstmPoint = spec.Points.Single(p => p.Config.Model.VariantName == "lstm");
        Assert.Null(lstmPoint.Config.Model.Cell);
        Assert.DoesNotContain("\"cell\"", lstmPoint.CanonicalJson, StringComparison.Ordinal);

        // The hash covers the equations: change one and the point is another run.
        var changed = SpecReader.Parse(Inline.Replace("(1 - f_) * tanh(g)", "(1 - f_) * g", StringComparison.Ordinal), "exp.yaml");
        Assert.NotEqual(cellPoint.ConfigHash, changed.Points.Single(p => p.Config.Model.VariantName == "mygate").ConfigHash);

        // A stored config alone rebuilds the cell (reproduce, worker).
        var stored = RunConfig.FromCanonicalJson(cellPoint.CanonicalJson);
        Assert.Equal(cellPoint.ConfigHash, stored.Hash);
        Assert.Equal("mygate", stored.Model.VariantName);
        Assert.Equal(cellPoint.Config.Model.Cell!.Nodes.Length, stored.Model.Cell!.Nodes.Length);
    }

    [Fact]
    public void ShippedCells_AreFoundBesideTheSpec_AndCheck()
    {
        string spec = """
            name: shipped
            scenario:
              kind: permuted
              tasks: 2
            model:
              variant: [lstm-generic, slstm, janet, peephole, minlstm]
              hidden: 8
            """;
        var parsed = SpecReader.Parse(spec, Path.Combine(Experiments, "virtual-spec.yaml"));
        Assert.Equal(["lstm-generic", "slstm", "janet", "peephole", "minlstm"], parsed.Points.Select(p => p.Config.Model.VariantName).ToArray());
        Assert.All(parsed.Points, p => Assert.NotNull(p.Config.Model.Cell));
        foreach (string file in Directory.GetFiles(Path.Combine(Experiments, "cells"), "*.yaml"))
        {
            var result = CellFileReader.ReadFile(file, Path.GetFileNameWithoutExtension(file));
            Assert.True(result.Ok, string.Join("\n", result.Diagnostics));
        }
    }

    [Fact]
    public void BadCells_EveryProblemWithFileLineColumn_NoRuns()
    {
        string spec = """
            name: bad-cells
            scenario:
              kind: permuted
              tasks: 2
            model:
              variant: [broken, gru]
              hidden: 8
            cells:
              lstm:
                gates: [i]
                step: |
                  h' = tanh(i)
                forget: h'
              broken:
                gates: [i, f, u]
                states: [c, n]
                init: {f: gaussian(1)}
                step: |
                  a = b + frobnicate(i)
                  b = a * 2
                  h' = sigmoid(f) * tanh(c) + q
                  c' = c + a
                forget: nothing
            """;
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.Parse(spec, "bad.yaml"));
        string text = e.Message;
        Assert.Contains("bad.yaml:9: cells.lstm: collides with the built-in variant 'lstm'", text, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:17:15: cells.broken: init of gate 'f': unknown init 'gaussian(1)'", text, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:19:15: cells.broken: Unknown function 'frobnicate'", text, StringComparison.Ordinal);
        Assert.Contains("Cycle: a → b → a", text, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:21:35: cells.broken: Undefined name 'q'", text, StringComparison.Ordinal);
        Assert.Contains("State 'n' has no line n' = …", text, StringComparison.Ordinal);
        Assert.Contains("Gate 'u' is never used", text, StringComparison.Ordinal);
        Assert.Contains("forget: names 'nothing'", text, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownVariant_SaysWhereCellsWereLookedFor()
    {
        string spec = """
            name: unknown
            model:
              variant: nocell
            """;
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.Parse(spec, "x.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("model.variant", error.Path);
        Assert.Contains("'nocell' is neither a built-in variant", error.Message, StringComparison.Ordinal);
        Assert.Contains("nocell.yaml", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelCellInASpec_IsRefused()
    {
        string spec = """
            name: sneaky
            model:
              variant: lstm
              cell: "{}"
            """;
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.Parse(spec, "x.yaml"));
        Assert.Contains("model.cell: is filled in from the cell file", e.Message, StringComparison.Ordinal);
    }
}
