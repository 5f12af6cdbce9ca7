using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

public sealed class CellCheckerTests
{
    private const string SlstmStep = """
        m' = max(logsigmoid(f) + m, i)
        i_ = exp(i - m')
        f_ = exp(logsigmoid(f) + m - m')
        c' = f_ * c + i_ * tanh(z)
        n' = f_ * n + i_
        h' = sigmoid(o) * c' / n'
        """;

    private static CellCheckResult Check(string step, string? forget = "f_", string[]? gates = null, string[]? states = null,
        string name = "test-cell", string[]? inputOnly = null, Dictionary<string, string>? parameters = null, Dictionary<string, string>? init = null) =>
        CellChecker.Check(CellDefinition.Create(name, gates ?? ["i", "f", "z", "o"], step, forget, states ?? ["c", "n", "m"], inputOnly,
            parameters, init, file: "cells/test.yaml"));

    [Fact]
    public void Check_Slstm_BuildsGraphWithSharedSubexpressions()
    {
        var r = Check(SlstmStep, init: new() { ["f"] = "linspace(3, 6)" });
        Assert.True(r.Ok, string.Join("\n", r.Diagnostics));
        var g = r.Graph!;
        Assert.Equal(["i", "f", "z", "o"], g.Blocks.ToArray());
        Assert.Equal(["c", "n", "m"], g.States.ToArray());
        Assert.Equal(CellInitKind.Linspace, g.BlockInits[1].Kind);
        // logsigmoid(f) is written twice but computed once.
        Assert.Single(g.Nodes, n => n.Op == CellOp.LogSigmoid);
        Assert.Equal("h'", g.Nodes[g.HiddenOutput].Name);
        Assert.Equal("f_", g.Nodes[g.ForgetOutput].Name);
        for (int i = 0; i < g.Nodes.Length; i++)
        {
            Assert.All(g.Nodes[i].Operands, o => Assert.True(o < i));
        }
    }

    [Fact]
    public void Check_UndefinedName_NamesLineAndColumn()
    {
        var r = Check("h' = sigmoid(o) * tanh(q)\nc' = c\nn' = n\nm' = m + i + f + z\nf_ = f", forget: "f_");
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(new CellLocation("cells/test.yaml", 1, 24), d.Location);
        Assert.Contains("Undefined name 'q'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_EveryProblemReportedAtOnce()
    {
        var r = Check("a = foo(i)\nh' = sigmoid(o) * b\nb = 2 * h'", forget: "nothing", gates: ["i", "f", "o"], states: ["c"]);
        var text = string.Join("\n", r.Diagnostics);
        Assert.False(r.Ok);
        Assert.Contains("Unknown function 'foo'", text, StringComparison.Ordinal);
        Assert.Contains("Cycle: h' → b → h'", text, StringComparison.Ordinal);
        Assert.Contains("State 'c' has no line c' = …", text, StringComparison.Ordinal);
        Assert.Contains("forget: names 'nothing'", text, StringComparison.Ordinal);
        Assert.Contains("Gate 'f' is never used", text, StringComparison.Ordinal);
        Assert.Contains("'a' is defined but nothing uses it", text, StringComparison.Ordinal);
        Assert.All(r.Diagnostics, d => Assert.Equal("cells/test.yaml", d.Location.File));
    }

    [Fact]
    public void Check_UseBeforeDefinition_WithoutCycle_SaysMoveUp()
    {
        var r = Check("h' = sigmoid(o) * a\na = tanh(i)", forget: "a", gates: ["i", "o"], states: []);
        var d = Assert.Single(r.Diagnostics);
        Assert.Contains("'a' is used before it is defined (on line 2)", d.Message, StringComparison.Ordinal);
        Assert.Equal(1, d.Location.Line);
    }

    [Fact]
    public void Check_SelfReference_IsCycle()
    {
        var r = Check("a = a + i\nh' = a", forget: "a", gates: ["i"], states: []);
        Assert.Contains(r.Diagnostics, d => d.Message.StartsWith("Cycle: a → a", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_MissingPrimedState_AndDuplicatePrimed()
    {
        var r = Check("h' = tanh(i)\nh' = tanh(f)\nc' = c", forget: "h'", gates: ["i", "f"], states: ["c", "n"]);
        var text = string.Join("\n", r.Diagnostics);
        Assert.Contains("'h'' is defined twice", text, StringComparison.Ordinal);
        Assert.Contains("State 'n' has no line n' = …", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_BuiltInName_Collides()
    {
        var r = Check("h' = tanh(i)", forget: "h'", gates: ["i"], states: [], name: "lstm");
        var d = Assert.Single(r.Diagnostics);
        Assert.Contains("collides with the built-in variant 'lstm'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_UnknownInit_AndBadInputOnly_AndUnusedParam()
    {
        var r = Check("h' = tanh(i)", forget: "h'", gates: ["i"], states: [], inputOnly: ["q"],
            parameters: new() { ["p"] = "gaussian" }, init: new() { ["i"] = "linspace(1)" });
        var text = string.Join("\n", r.Diagnostics);
        Assert.Contains("input_only names 'q', which is not a gate", text, StringComparison.Ordinal);
        Assert.Contains("unknown init 'gaussian'", text, StringComparison.Ordinal);
        Assert.Contains("init 'linspace(1)' takes 2 number(s), got 1", text, StringComparison.Ordinal);
        Assert.Contains("Param 'p' is never used", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SyntaxErrors_ComparisonOutsideWhere_AndFunctionAsName()
    {
        var r = Check("h' = (tanh(i)\nc' = max(i >= 0, c)\nd = sigmoid + 1", forget: "c'", gates: ["i"], states: ["c"]);
        var text = string.Join("\n", r.Diagnostics);
        Assert.Contains("cells/test.yaml:1:14: Expected ')' to close the '('", text, StringComparison.Ordinal);
        Assert.Contains("allowed only as the first argument of where", text, StringComparison.Ordinal);
        Assert.Contains("'sigmoid' is a function; call it as sigmoid(…)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_InputOnlyBlocks_HaveNoRecurrentRows()
    {
        var r = Check("f_ = sigmoid(f)\ni_ = sigmoid(i)\nh' = f_ / (f_ + i_) * h + i_ / (f_ + i_) * where(u >= 0, u + 0.5, sigmoid(u))",
            forget: "f_", gates: ["f", "i", "u"], states: [], inputOnly: ["f", "i", "u"]);
        Assert.True(r.Ok, string.Join("\n", r.Diagnostics));
        Assert.False(r.Graph!.HasRecurrentWeights);
        Assert.Empty(r.Graph.RecurrentBlocks);
    }

    [Fact]
    public void Json_RoundTrips_AndCoversTheEquations()
    {
        var def = CellDefinition.Create("s", ["i", "f", "z", "o"], SlstmStep, "f_", ["c", "n", "m"], [], [], [new("f", "linspace(3, 6)")], "xLSTM");
        string json = def.ToJson();
        var back = CellDefinition.FromJson(json, "metadata");
        Assert.Equal(json, back.ToJson());
        Assert.True(CellChecker.Check(back).Ok);
        var changed = CellDefinition.Create("s", ["i", "f", "z", "o"], SlstmStep.Replace("i_ * tanh(z)", "i_ * z", StringComparison.Ordinal), "f_", ["c", "n", "m"]);
        Assert.NotEqual(json, changed.ToJson());
    }
}
