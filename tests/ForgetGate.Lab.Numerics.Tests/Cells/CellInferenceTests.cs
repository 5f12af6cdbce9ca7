using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Tests.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

/// <summary>
/// Cell files on the row-block inference path (Forward with training = false): each worker takes blocks of rows through
/// every step, the gates from the built-ins' product tiles, the step from the cell's program per 8-row, 16-unit tile.
/// The anchor is the training forward (per-step products, the program per row), which must give the same bits for any
/// thread count, batch split, tile padding and layer count; a step that goes non-finite is named as in training.
/// </summary>
public sealed class CellInferenceTests
{
    /// <summary>Every shipped cell, and one that uses every operation, a state, a param and a mix of input-only and recurrent blocks.</summary>
    public static TheoryData<string> Cells => ["lstm-generic", "slstm", "janet", "peephole", "minlstm", "every-op"];

    private static CellDefinition Definition(string cell) => cell == "every-op"
        ? CellDefinition.Create("every-op", ["a", "b", "c"], """
            q = where(a >= b, softplus(a) - relu(-b), logsigmoid(c) * abs(a))
            r = max(sqrt(abs(b) + 1), min(exp(-abs(c)), log(1 + abs(a))))
            f_ = sigmoid(c)
            s' = 0.5 * s + tanh(q) / (1 + r) - a * p
            h' = f_ * h + (1 - f_) * tanh(s')
            """, "f_", ["s"], inputOnly: ["a"], parameters: [new("p", "default")])
        : CellGradientTests.Shipped(cell);

    private static RecurrentModel Create(string cell, int input, int hidden, int layers, int outputs, int steps, ComputePool? pool = null)
    {
        var config = RecurrentModelConfig.ForCell(CellGraph.Compile(Definition(cell)), input, hidden, layers, outputs);
        var model = new RecurrentModel(config, pool);
        model.Initialize(new Rng(ModelTestData.Seed).Split("cell-inference"), steps);
        return model;
    }

    [Fact]
    public void EveryOpCell_UsesEveryOperation()
    {
        var ops = CellGraph.Compile(Definition("every-op")).Nodes.Select(n => n.Op).ToHashSet();
        Assert.All(Enum.GetValues<CellOp>(), op => Assert.Contains(op, ops));
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Inference_OneTwoThreeThreads_BitIdenticalToTrainingForward(string cell)
    {
        // H = 40: three 16-unit tiles, the last one padded; two layers; batches below, at and across the 8-row groups
        // and the 32-row blocks (100 = 3 full blocks + 4 rows, so the last block is padded too).
        const int input = 6, hidden = 40, layers = 2, outputs = 4, steps = 5;
        using var pool2 = new ComputePool(2);
        using var pool3 = new ComputePool(3);
        using var reference = Create(cell, input, hidden, layers, outputs, steps);
        using var one = Create(cell, input, hidden, layers, outputs, steps);
        using var two = Create(cell, input, hidden, layers, outputs, steps, pool2);
        using var three = Create(cell, input, hidden, layers, outputs, steps, pool3);
        foreach (int batch in new[] { 1, 7, 8, 33, 100 })
        {
            var x = ModelTestData.Input(batch, steps, input, $"x{batch}");
            var expected = new float[batch * outputs];
            reference.Forward(x, batch, steps, expected, training: true);
            Assert.All(expected, v => Assert.True(float.IsFinite(v)));
            foreach (var model in new[] { one, two, three })
            {
                var y = new float[batch * outputs];
                model.Forward(x, batch, steps, y, training: false);
                Assert.Equal(expected, y);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Inference_BatchSplitIntoPieces_SameRowsBitIdentical(string cell)
    {
        // The same 70 rows as one batch, and as pieces of 3, 29 and 38 rows (each piece its own blocks and padding).
        const int input = 5, hidden = 21, outputs = 3, steps = 4, batch = 70;
        using var pool = new ComputePool(2);
        using var model = Create(cell, input, hidden, 1, outputs, steps, pool);
        var x = ModelTestData.Input(batch, steps, input);
        var whole = new float[batch * outputs];
        model.Forward(x, batch, steps, whole, training: false);
        int from = 0;
        foreach (int rows in new[] { 3, 29, 38 })
        {
            var piece = new float[rows * outputs];
            model.Forward(x.AsSpan(from * steps * input, rows * steps * input), rows, steps, piece, training: false);
            Assert.Equal(whole.AsSpan(from * outputs, rows * outputs).ToArray(), piece);
            from += rows;
        }
    }

    [Theory]
    [InlineData("lstm-generic", 3, 260)]
    [InlineData("minlstm", 300, 20)]
    [InlineData("every-op", 300, 20)]
    public void Inference_ReductionLongerThanOneKBlock_BitIdenticalToTrainingForward(string cell, int input, int hidden)
    {
        // The training products cut K into blocks of 256 and store C between them; the inference tile keeps one chain.
        const int batch = 9, steps = 3, outputs = 2;
        using var model = Create(cell, input, hidden, 1, outputs, steps);
        var x = ModelTestData.Input(batch, steps, input);
        var train = new float[batch * outputs];
        var infer = new float[batch * outputs];
        model.Forward(x, batch, steps, train, training: true);
        model.Forward(x, batch, steps, infer, training: false);
        Assert.Equal(train, infer);
    }

    [Theory]
    [InlineData("slstm")]
    [InlineData("minlstm")]
    public void CopyForgetGates_AfterInference_EqualsThoseOfATrainingForward(string cell)
    {
        const int batch = 11, steps = 4, input = 3, hidden = 18;
        using var pool = new ComputePool(2);
        using var inferred = Create(cell, input, hidden, 2, 2, steps, pool);
        using var trained = Create(cell, input, hidden, 2, 2, steps);
        var x = ModelTestData.Input(batch, steps, input);
        inferred.Forward(ModelTestData.Input(40, steps, input, "earlier"), 40, steps, new float[80], training: true);
        inferred.Forward(x, batch, steps, new float[batch * 2], training: false);
        trained.Forward(x, batch, steps, new float[batch * 2], training: true);
        var a = new float[steps * batch * hidden];
        var b = new float[steps * batch * hidden];
        Assert.Equal(a.Length, inferred.CopyForgetGates(1, a));
        trained.CopyForgetGates(1, b);
        Assert.Equal(b, a);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Inference_AfterWarmUp_AllocatesNothing(int threads)
    {
        using var pool = new ComputePool(threads);
        using var model = Create("slstm", 5, 21, 2, 3, 6, pool);
        var x = ModelTestData.Input(45, 6, 5);
        var y = new float[45 * 3];
        model.Forward(x, 45, 6, y, training: false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 4; i++)
        {
            model.Forward(x, 45, 6, y, training: false);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Inference_NonFiniteStep_FailsNamingStepRowAndExpressionAsTrainingDoes(int threads)
    {
        // Row 5 of 40 (in the second 8-row group of the first block, on whichever worker takes it) takes log(0) at step 2.
        var def = CellDefinition.Create("blowup", ["f", "g"], "q = log(1 - g)\nh' = sigmoid(f) * h + 0.001 * q", "q");
        var config = RecurrentModelConfig.ForCell(CellGraph.Compile(def), 1, 3, 1, 1);
        using var pool = new ComputePool(threads);
        using var model = new RecurrentModel(config, pool);
        model.Initialize(new Rng(1), 3);
        model.Parameters.First(p => p.Name == "rnn.weight_ih_l0").Value.AsSpan().Fill(1f);
        model.Parameters.First(p => p.Name == "rnn.bias_ih_l0").Value.AsSpan().Clear();
        model.Parameters.First(p => p.Name == "rnn.bias_hh_l0").Value.AsSpan().Clear();
        model.Parameters.First(p => p.Name == "rnn.weight_hh_l0").Value.AsSpan().Clear();
        // g = x (weights 1, no bias, no W_hh): q = log(1 − x) is finite where x = 0, every input but row 5's at step 2.
        var x = new float[40 * 3];
        x[(5 * 3) + 2] = 1f;
        var logits = new float[40];
        var e = Assert.Throws<CellNonFiniteException>(() => model.Forward(x, 40, 3, logits, training: false));
        Assert.Contains("Cell 'blowup' went non-finite in layer 0 at time step 2, batch row 5, unit 0", e.Message, StringComparison.Ordinal);
        Assert.Equal("'q = log(1 - g)'", e.Expression);
    }
}
