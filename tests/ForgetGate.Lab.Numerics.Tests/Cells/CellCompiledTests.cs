using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

/// <summary>
/// The compiled cell step (CellProgram.Compiled: every node in registers) against the node-by-node interpreter, bit for
/// bit: outputs of the step, and every input's adjoint of its reverse mode, for the shipped cells and random
/// expressions covering every op, including exact ties of max/min/where and zero seeds of either sign.
/// </summary>
public sealed class CellCompiledTests
{
    private static readonly int s_seed = int.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 1234;

    [Theory]
    [InlineData("lstm-generic")]
    [InlineData("slstm")]
    [InlineData("janet")]
    [InlineData("peephole")]
    [InlineData("minlstm")]
    public void Compiled_ShippedCell_EqualsInterpreterBitForBit(string name) =>
        AssertSame(CellGraph.Compile(CellGradientTests.Shipped(name)), new System.Random(s_seed), name);

    [Fact]
    public void Compiled_RandomExpressions_EqualInterpreterBitForBit()
    {
        var rng = new System.Random(s_seed);
        var covered = new HashSet<CellOp>();
        for (int trial = 0; trial < 200; trial++)
        {
            var gen = new CellGradientTests.ExpressionGenerator(rng);
            string step = $"q = {gen.Expression(3)}\nh' = {gen.Expression(4)} + 0.1 * q\ns' = {gen.Expression(3)} + a * b * c * p * s";
            var graph = CellGraph.Compile(CellDefinition.Create("random", ["a", "b", "c"], step, "q", ["s"], parameters: [new("p", "default")]));
            AssertSame(graph, rng, $"seed {s_seed}, trial {trial}:\n{step}");
            covered.UnionWith(graph.Nodes.Select(n => n.Op));
        }

        foreach (var op in Enum.GetValues<CellOp>())
        {
            Assert.True(covered.Contains(op), $"random expressions never produced {op}");
        }
    }

    [Fact]
    public void Compiled_Ties_EqualInterpreterBitForBit()
    {
        var graph = CellGraph.Compile(CellDefinition.Create("ties", ["a", "b"], """
            x = max(a, b) + min(a * b, b * a)
            z = where(a >= b, 2 * a, 3 * b) + where(a < b, a, b)
            w = relu(a - b) + abs(a - b) + sqrt(abs(a) + 1) + log(abs(b) + 1) + logsigmoid(a) + softplus(b)
            h' = x + 10 * z + 100 * w - h / (abs(a) + 2)
            """, "x"));
        AssertSame(graph, new System.Random(s_seed), "ties", tieEvery: 2);
    }

    /// <summary>Random inputs (every <paramref name="tieEvery"/>-th unit an exact tie a = b) and seeds, 3 tiles wide, at offsets.</summary>
    private static void AssertSame(CellGraph graph, System.Random rng, string what, int tieEvery = 0)
    {
        var program = new CellProgram(graph);
        int nodes = program.NodeCount;
        const int stride = 64;
        const int u0 = 16, u1 = 64;   // a worker's tile range inside the row
        var inputs = new float[nodes * stride];
        for (int i = 0; i < program.InputCount; i++)
        {
            for (int u = 0; u < stride; u++)
            {
                // Positive where a cell needs it (n of slstm is a sum of exps; a divisor near 0 only makes both sides inf alike).
                inputs[(i * stride) + u] = (float)((rng.NextDouble() * 4) - 2);
            }
        }

        if (tieEvery > 0)
        {
            for (int u = 0; u < stride; u += tieEvery)
            {
                inputs[stride + u] = inputs[u];
            }
        }

        var outputs = new HashSet<int>([graph.HiddenOutput, .. graph.StateOutputs, graph.ForgetOutput]);
        var seeds = new float[nodes * stride];
        foreach (int o in outputs)
        {
            for (int u = 0; u < stride; u++)
            {
                seeds[(o * stride) + u] = u % 7 == 0 ? (u % 14 == 0 ? 0f : -0f) : (float)((rng.NextDouble() * 2) - 1);
            }
        }

        // The interpreter: every node, then reverse mode from the seeds over cleared adjoints (as the layer does).
        var interpreted = new float[2 * nodes * stride];
        inputs.CopyTo(interpreted, 0);
        program.Forward(interpreted, stride, u0, u1);
        for (int i = 0; i < nodes * stride; i++)
        {
            interpreted[(nodes * stride) + i] = 0f + seeds[i];
        }

        program.Backward(interpreted, interpreted, stride, u0, u1, nodes * stride);

        var compiled = new float[2 * nodes * stride];
        inputs.CopyTo(compiled, 0);
        program.ForwardOutputs(compiled, stride, u0, u1);
        foreach (int o in outputs)
        {
            for (int u = u0; u < u1; u++)
            {
                Assert.True(
                    Same(interpreted[(o * stride) + u], compiled[(o * stride) + u]),
                    $"{what}: output node {o} unit {u}: compiled {compiled[(o * stride) + u]:R}, interpreter {interpreted[(o * stride) + u]:R}");
            }
        }

        var adjoints = new float[2 * nodes * stride];
        inputs.CopyTo(adjoints, 0);
        for (int i = 0; i < nodes * stride; i++)
        {
            adjoints[(nodes * stride) + i] = 0f + seeds[i];
        }

        program.BackwardFromInputs(adjoints, adjoints, stride, u0, u1, nodes * stride);
        for (int i = 0; i < program.InputCount; i++)
        {
            for (int u = u0; u < u1; u++)
            {
                int at = (nodes * stride) + (i * stride) + u;
                Assert.True(
                    Same(interpreted[at], adjoints[at]),
                    $"{what}: adjoint of input {i} unit {u}: compiled {adjoints[at]:R}, interpreter {interpreted[at]:R}");
            }
        }
    }

    /// <summary>Bit for bit, except that any NaN equals any NaN (a NaN's sign and payload depend on the instruction that made it).</summary>
    private static bool Same(float expected, float actual) =>
        BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || (float.IsNaN(expected) && float.IsNaN(actual));
}
