using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Numerics.Tests.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

/// <summary>The generic managed cell layer against the float64 reference, the built-in lstm, threads and checkpoints.</summary>
public sealed class CellModelTests
{
    public static TheoryData<string, int, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (var cell in new[] { "lstm-generic", "slstm", "janet", "peephole", "minlstm" })
        {
            data.Add(cell, 5, 1, 1);
            data.Add(cell, 13, 2, 3);
            data.Add(cell, 17, 1, 2);
        }

        return data;
    }

    private static RecurrentModel Create(string cell, int input, int hidden, int layers, int outputs, int steps, ComputePool? pool = null)
    {
        var config = RecurrentModelConfig.ForCell(CellGraph.Compile(CellGradientTests.Shipped(cell)), input, hidden, layers, outputs);
        var model = new RecurrentModel(config, pool);
        model.Initialize(new Rng(ModelTestData.Seed).Split("cell"), steps);
        return model;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardBackward_MatchesFloat64Reference(string cell, int hidden, int layers, int batch)
    {
        const int input = 3;
        const int steps = 6;
        const int outputs = 4;
        using var model = Create(cell, input, hidden, layers, outputs, steps);
        var x = ModelTestData.Input(batch, steps, input);
        var logits = new float[batch * outputs];
        model.Forward(x, batch, steps, logits, training: true);
        var dOut = ModelTestData.Input(batch, 1, outputs, "dout");
        model.Backward(dOut);

        var reference = new CellReferenceModel(model.Config);
        reference.CopyFrom(model.Parameters);
        var refLogits = reference.Forward([.. x.Select(v => (double)v)], batch, steps);
        reference.Backward([.. dOut.Select(v => (double)v)]);
        for (int i = 0; i < logits.Length; i++)
        {
            Assert.True(Math.Abs(logits[i] - refLogits[i]) <= 1e-5 + (1e-4 * Math.Abs(refLogits[i])), $"{cell} logit {i}: {logits[i]} vs {refLogits[i]}");
        }

        foreach (var p in model.Parameters)
        {
            var r = reference.Gradients[p.Name];
            double scale = Math.Max(1e-3, r.Max(Math.Abs));
            for (int i = 0; i < p.Length; i++)
            {
                Assert.True(Math.Abs(p.Gradient[i] - r[i]) <= 2e-4 * scale, $"{cell} H={hidden} L={layers} B={batch}: {p.Name}[{i}] = {p.Gradient[i]}, float64 {r[i]}");
            }
        }
    }

    /// <summary>
    /// Evaluation and predict run Forward with training = false, which takes cells through the row-block inference path
    /// (their own layout: input-only blocks, extra states, params; RecurrentLayer.InferCellStep). A cell must give there
    /// exactly what its training forward gives (at a run's real shape: input 28, T = 28, H = 16, batch 100, two
    /// threads), and a training step after it must still work. When the path first met cells it read them as LSTMs:
    /// minlstm read a W_hh it does not have (segfault) and every cell was evaluated as an LSTM. CellInferenceTests holds
    /// the rest (1/2/3 threads, batch pieces, long reductions, non-finite steps).
    /// </summary>
    [Theory]
    [InlineData("lstm-generic")]
    [InlineData("slstm")]
    [InlineData("janet")]
    [InlineData("peephole")]
    [InlineData("minlstm")]
    public void Inference_EqualsTrainingForward_AtRunShape(string cell)
    {
        const int input = 28, steps = 28, hidden = 16, batch = 100, outputs = 10;
        using var pool = new ComputePool(2);
        using var model = Create(cell, input, hidden, 1, outputs, steps, pool);
        var x = ModelTestData.Input(batch, steps, input);
        var inferred = new float[batch * outputs];
        var trained = new float[batch * outputs];
        model.Forward(x, batch, steps, inferred, training: false);
        Assert.Throws<InvalidOperationException>(() => model.Backward(new float[batch * outputs]));
        model.Forward(x, batch, steps, trained, training: true);
        Assert.Equal(trained, inferred);
        model.Backward(ModelTestData.Input(batch, 1, outputs, "dout"));
        Assert.Contains(model.Parameters, p => p.Gradient.Any(g => g != 0));
    }

    [Fact]
    public void LstmGeneric_MatchesBuiltInLstm_FromTheSameSeed()
    {
        const int input = 7;
        const int hidden = 20;
        const int steps = 9;
        const int batch = 5;
        const int outputs = 3;
        using var generic = Create("lstm-generic", input, hidden, 2, outputs, steps);
        using var builtIn = ModelTestData.Create(Variant.Lstm, input, hidden, 2, outputs, steps, stream: "cell");
        Assert.Equal(builtIn.Parameters.Select(p => p.Name), generic.Parameters.Select(p => p.Name));
        for (int i = 0; i < generic.Parameters.Count; i++)
        {
            Assert.Equal(builtIn.Parameters[i].Value, generic.Parameters[i].Value);
        }

        var x = ModelTestData.Input(batch, steps, input);
        var a = new float[batch * outputs];
        var b = new float[batch * outputs];
        generic.Forward(x, batch, steps, a, training: true);
        builtIn.Forward(x, batch, steps, b, training: true);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 + (1e-5 * Math.Abs(b[i])), $"logit {i}: {a[i]} vs {b[i]}");
        }

        var dOut = ModelTestData.Input(batch, 1, outputs, "dout");
        generic.Backward(dOut);
        builtIn.Backward(dOut);
        var gates = new float[steps * batch * hidden];
        var gatesB = new float[steps * batch * hidden];
        generic.CopyForgetGates(1, gates);
        builtIn.CopyForgetGates(1, gatesB);
        for (int i = 0; i < gates.Length; i++)
        {
            Assert.True(Math.Abs(gates[i] - gatesB[i]) <= 1e-6, $"forget gate {i}");
        }

        for (int p = 0; p < generic.Parameters.Count; p++)
        {
            var ga = generic.Parameters[p].Gradient;
            var gb = builtIn.Parameters[p].Gradient;
            float scale = Math.Max(1e-3f, gb.Max(MathF.Abs));
            for (int i = 0; i < ga.Length; i++)
            {
                Assert.True(Math.Abs(ga[i] - gb[i]) <= 1e-5 * scale, $"{generic.Parameters[p].Name}[{i}]: {ga[i]} vs {gb[i]}");
            }
        }
    }

    [Theory]
    [InlineData("slstm", 2)]
    [InlineData("peephole", 40)]
    [InlineData("minlstm", 40)]
    [InlineData("minlstm", 2, 16)]
    [InlineData("minlstm", 12, 16)]
    [InlineData("janet", 3, 16)]
    public void OneAndTwoThreads_BitIdentical(string cell, int batch, int hidden = 37)
    {
        const int steps = 5;
        using var pool = new ComputePool(2);
        using var one = Create(cell, 4, hidden, 2, 3, steps);
        using var two = Create(cell, 4, hidden, 2, 3, steps, pool);
        var x = ModelTestData.Input(batch, steps, 4);
        var a = new float[batch * 3];
        var b = new float[batch * 3];
        one.Forward(x, batch, steps, a, training: true);
        two.Forward(x, batch, steps, b, training: true);
        Assert.Equal(a, b);
        var dOut = ModelTestData.Input(batch, 1, 3, "dout");
        one.Backward(dOut);
        two.Backward(dOut);
        for (int p = 0; p < one.Parameters.Count; p++)
        {
            Assert.Equal(one.Parameters[p].Gradient, two.Parameters[p].Gradient);
        }
    }

    [Fact]
    public void Checkpoint_CarriesDefinition_AndLayoutOfRecurrentBlocksOnly()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fg-cell-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var model = Create("minlstm", 3, 6, 2, 2, 4);
            ModelCheckpoint.Save(model, path);
            var data = ModelCheckpoint.Read(path);
            Assert.Equal("minlstm", data.Config.VariantName);
            Assert.NotNull(data.Config.Cell);
            Assert.DoesNotContain(data.Tensors.Keys, k => k.Contains("_hh_", StringComparison.Ordinal));
            using var loaded = (RecurrentModel)ModelCheckpoint.Load(path, ManagedEngine.EngineName);
            var x = ModelTestData.Input(2, 4, 3);
            var a = new float[4];
            var b = new float[4];
            model.Forward(x, 2, 4, a, false);
            loaded.Forward(x, 2, 4, b, false);
            Assert.Equal(a, b);

            using var peephole = Create("peephole", 3, 6, 1, 2, 4);
            ModelCheckpoint.Save(peephole, path);
            var names = ModelCheckpoint.Read(path).Tensors.Keys.ToHashSet();
            Assert.Contains("rnn.p_i_l0", names);
            Assert.Contains("rnn.weight_hh_l0", names);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NonFiniteStep_FailsNamingStepRowAndExpression()
    {
        var def = CellDefinition.Create("blowup", ["f", "g"], "q = g / (f - f)\nh' = sigmoid(f) * h + q", "q");
        var config = RecurrentModelConfig.ForCell(CellGraph.Compile(def), 1, 3, 1, 1);
        using var model = new RecurrentModel(config);
        model.Initialize(new Rng(1), 3);
        Array.Fill(model.Parameters.First(p => p.Name == "rnn.bias_ih_l0").Value, 5f);
        var logits = new float[1];
        var e = Assert.Throws<CellNonFiniteException>(() => model.Forward(new float[3], 1, 3, logits, training: true));
        Assert.Contains("Cell 'blowup' went non-finite in layer 0 at time step 0, batch row 0, unit 0", e.Message, StringComparison.Ordinal);
        Assert.Equal("'q = g / (f - f)'", e.Expression);
    }
}
