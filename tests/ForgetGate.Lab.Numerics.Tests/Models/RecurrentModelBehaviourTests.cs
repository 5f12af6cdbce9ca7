using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Models;

public sealed class RecurrentModelBehaviourTests
{
    public static TheoryData<string, int> VariantsAndBatches()
    {
        // B = 7: the workers split the hidden tiles and meet at a barrier every step;
        // B = 37: they split the batch (≥ 16 rows each) and never wait for each other.
        var data = new TheoryData<string, int>();
        foreach (var v in Variants.All)
        {
            data.Add(v.Name(), 7);
            data.Add(v.Name(), 37);
        }

        return data;
    }

    public static TheoryData<string> AllVariants()
    {
        var data = new TheoryData<string>();
        foreach (var v in Variants.All)
        {
            data.Add(v.Name());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VariantsAndBatches))]
    public void ForwardBackward_OneAndTwoThreads_BitIdentical(string variant, int batch)
    {
        // H = 40 → 3 tiles of 16 split 1:2 between the workers; T = 5 and 2 layers exercise every phase.
        const int steps = 5;
        using var pool = new ComputePool(2);
        using var one = ModelTestData.Create(Variants.Parse(variant), 6, 40, 2, 4, steps);
        using var two = ModelTestData.Create(Variants.Parse(variant), 6, 40, 2, 4, steps, pool);
        var x = ModelTestData.Input(batch, steps, 6);
        var d = ModelTestData.Input(batch, 1, 4, "dOut");
        var y1 = new float[batch * 4];
        var y2 = new float[batch * 4];
        one.Forward(x, batch, steps, y1, training: true);
        two.Forward(x, batch, steps, y2, training: true);
        Assert.Equal(y1, y2);
        one.Backward(d);
        two.Backward(d);
        for (int i = 0; i < one.Parameters.Count; i++)
        {
            Assert.Equal(one.Parameters[i].Gradient, two.Parameters[i].Gradient);
        }

        var g1 = new float[steps * batch * 40];
        var g2 = new float[steps * batch * 40];
        one.CopyForgetGates(1, g1);
        two.CopyForgetGates(1, g2);
        Assert.Equal(g1, g2);
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void TrainingStep_AfterWarmUp_AllocatesNothing(string variant) => AssertNoAllocation(variant, threads: 1, batch: 9);

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void TrainingStep_TwoThreads_AllocatesNothing(string variant)
    {
        // Batch 9: workers split the hidden units and meet at a barrier every step; batch 40: they split the batch.
        AssertNoAllocation(variant, threads: 2, batch: 9);
        AssertNoAllocation(variant, threads: 2, batch: 40);
    }

    private static void AssertNoAllocation(string variant, int threads, int batch)
    {
        const int steps = 6;
        using var pool = new ComputePool(threads);
        using var model = ModelTestData.Create(Variants.Parse(variant), 5, 21, 2, 3, steps, pool);
        var x = ModelTestData.Input(batch, steps, 5);
        var d = ModelTestData.Input(batch, 1, 3, "dOut");
        var y = new float[batch * 3];
        for (int i = 0; i < 2; i++)
        {
            model.Forward(x, batch, steps, y, training: true);
            model.Backward(d);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 4; i++)
        {
            model.Forward(x, batch, steps, y, training: true);
            model.Backward(d);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Inference_DoesNotAllocateGradientBuffers_AndTrainingAfterItMatchesAFreshModel(string variant)
    {
        // Evaluation runs large batches with training = false; the gradient buffers (dZ alone is rows·G·H floats)
        // are grown only by a training pass.
        const int batch = 300, steps = 7, input = 5, hidden = 21, outputs = 3;
        var v = Variants.Parse(variant);
        var x = ModelTestData.Input(batch, steps, input);
        var y = new float[batch * outputs];
        using var inferFirst = ModelTestData.Create(v, input, hidden, 2, outputs, steps);
        using var trainOnly = ModelTestData.Create(v, input, hidden, 2, outputs, steps);

        long start = GC.GetAllocatedBytesForCurrentThread();
        inferFirst.Forward(x, batch, steps, y, training: false);
        long inference = GC.GetAllocatedBytesForCurrentThread() - start;
        start = GC.GetAllocatedBytesForCurrentThread();
        trainOnly.Forward(x, batch, steps, y, training: true);
        long training = GC.GetAllocatedBytesForCurrentThread() - start;
        long dZ = (long)batch * steps * v.GateCount() * hidden * sizeof(float);
        Assert.True(training - inference >= dZ, $"inference allocated {inference} bytes, training {training}; the gradient buffers alone need ≥ {dZ}");

        var d = ModelTestData.Input(batch, 1, outputs, "dOut");
        inferFirst.Forward(x, batch, steps, y, training: true);
        inferFirst.Backward(d);
        trainOnly.Backward(d);
        for (int i = 0; i < trainOnly.Parameters.Count; i++)
        {
            Assert.Equal(trainOnly.Parameters[i].Gradient, inferFirst.Parameters[i].Gradient);
        }
    }

    [Fact]
    public void Forward_SmallerBatchAfterLarger_MatchesFreshModel()
    {
        // Buffers only grow; a later smaller batch must not read stale rows of the larger one.
        using var reused = ModelTestData.Create(Variant.Gru, 4, 9, 2, 3, 5);
        using var fresh = ModelTestData.Create(Variant.Gru, 4, 9, 2, 3, 5);
        var big = new float[10 * 3];
        reused.Forward(ModelTestData.Input(10, 5, 4, "big"), 10, 5, big, training: true);
        var x = ModelTestData.Input(3, 4, 4);
        var a = new float[9];
        var b = new float[9];
        reused.Forward(x, 3, 4, a, training: false);
        fresh.Forward(x, 3, 4, b, training: false);
        Assert.Equal(b, a);
    }

    [Theory]
    [InlineData("lstm", 1.5f)]
    [InlineData("cifg", -0.5f)]
    [InlineData("gru", 0.75f)]
    public void CopyForgetGates_ZeroWeights_EqualsSigmoidOfForgetBias(string variant, float bias)
    {
        double expected = 1 / (1 + Math.Exp(-bias));
        var v = Variants.Parse(variant);
        using var model = new RecurrentModel(new RecurrentModelConfig(v, 3, 5, 2, 2));
        int forgetBlock = v == Variant.Cifg ? 0 : 1;   // lstm: i f g o; cifg: f g o; gru: r z n
        for (int k = 0; k < 2; k++)
        {
            model.GetParameter($"rnn.bias_ih_l{k}").Value.AsSpan(forgetBlock * 5, 5).Fill(bias);
        }

        model.Forward(ModelTestData.Input(2, 3, 3), 2, 3, new float[4], training: false);
        var gates = new float[3 * 2 * 5];
        Assert.Equal(30, model.CopyForgetGates(1, gates));
        // float32 σ with a 1e-7-accurate exp: within a few ulps of the float64 value.
        Assert.All(gates, g => Assert.InRange(g, expected - 1e-6, expected + 1e-6));
    }

    [Fact]
    public void CopyForgetGates_UrLstmZeroWeights_EqualsGamma()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.UrLstm, 3, 5, 1, 2));
        model.GetParameter("rnn.forget_bias_l0").Value.AsSpan().Fill(1f);
        model.Forward(ModelTestData.Input(2, 3, 3), 2, 3, new float[4], training: false);
        var gates = new float[30];
        model.CopyForgetGates(0, gates);
        double phi = 1 / (1 + Math.Exp(-1.0));   // σ(0 + b)
        double rho = 1 / (1 + Math.Exp(1.0));    // σ(0 − b)
        double gamma = (rho * (1 - ((1 - phi) * (1 - phi)))) + ((1 - rho) * phi * phi);
        Assert.All(gates, g => Assert.InRange(g, gamma - 1e-6, gamma + 1e-6));
    }

    [Fact]
    public void Forward_WrongInputLength_ThrowsNamingShape()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 4, 5, 1, 2));
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(new float[(4 * 3 * 4) + 1], 4, 3, new float[8], training: false));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("has 49 values; expected batch·steps·InputSize = 4·3·4 = 48", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_OutputTooShort_Throws()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 5, 1, 3));
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(new float[2 * 3 * 2], 2, 3, new float[5], training: false));
        Assert.Equal("output", ex.ParamName);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Forward_NonFiniteInput_ThrowsNamingPosition(float bad)
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Cifg, 3, 5, 1, 2));
        var x = new float[2 * 4 * 3];
        x[(((1 * 4) + 2) * 3) + 1] = bad;   // batch 1, step 2, feature 1
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(x, 2, 4, new float[4], training: true));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("[batch 1, step 2, feature 1]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(2, 0)]
    public void Forward_NonPositiveBatchOrSteps_Throws(int batch, int steps)
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 5, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([], batch, steps, new float[9], training: false));
    }

    [Fact]
    public void Backward_AfterInferenceForward_Throws()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 5, 1, 3));
        model.Forward(new float[12], 2, 3, new float[6], training: false);
        Assert.Throws<InvalidOperationException>(() => model.Backward(new float[6]));
    }

    [Fact]
    public void Backward_WrongGradientLength_Throws()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Gru, 2, 5, 1, 3));
        model.Forward(new float[12], 2, 3, new float[6], training: true);
        var ex = Assert.Throws<ArgumentException>(() => model.Backward(new float[5]));
        Assert.Equal("dOutput", ex.ParamName);
    }

    [Fact]
    public void CopyForgetGates_BadLayerOrShortDestination_Throws()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 5, 2, 3));
        Assert.Throws<InvalidOperationException>(() => model.CopyForgetGates(0, new float[100]));
        model.Forward(new float[12], 2, 3, new float[6], training: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.CopyForgetGates(2, new float[100]));
        Assert.Throws<ArgumentException>(() => model.CopyForgetGates(0, new float[29]));
    }

    [Fact]
    public void Constructor_ZeroHidden_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 0, 1, 3)));
    }
}
