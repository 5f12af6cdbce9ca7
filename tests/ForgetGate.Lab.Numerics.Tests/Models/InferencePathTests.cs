using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Models;

/// <summary>
/// The inference path (Forward with training = false) splits the batch into row blocks that workers take through
/// every step on their own; a row's arithmetic must not depend on that split. The anchor is the training forward,
/// which computes the same chains layer by layer over the whole batch.
/// </summary>
public sealed class InferencePathTests
{
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
    [MemberData(nameof(AllVariants))]
    public void Inference_OneTwoThreeThreads_BitIdenticalToTrainingForward(string variant)
    {
        // H = 40: three 16-unit tiles, the last one padded; two layers; batches below, at and across the 8-row groups
        // and the 32-row blocks (100 = 3 full blocks + 4 rows, so the last block is padded too).
        const int input = 6, hidden = 40, layers = 2, outputs = 4, steps = 5;
        var v = Variants.Parse(variant);
        using var pool2 = new ComputePool(2);
        using var pool3 = new ComputePool(3);
        using var reference = ModelTestData.Create(v, input, hidden, layers, outputs, steps);
        using var one = ModelTestData.Create(v, input, hidden, layers, outputs, steps);
        using var two = ModelTestData.Create(v, input, hidden, layers, outputs, steps, pool2);
        using var three = ModelTestData.Create(v, input, hidden, layers, outputs, steps, pool3);
        foreach (int batch in new[] { 1, 7, 8, 33, 100 })
        {
            var x = ModelTestData.Input(batch, steps, input, $"x{batch}");
            var expected = new float[batch * outputs];
            reference.Forward(x, batch, steps, expected, training: true);
            foreach (var model in new[] { one, two, three })
            {
                var y = new float[batch * outputs];
                model.Forward(x, batch, steps, y, training: false);
                Assert.Equal(expected, y);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Inference_BatchSplitIntoPieces_SameRowsBitIdentical(string variant)
    {
        // The same 70 rows as one batch, and as pieces of 3, 29 and 38 rows (each piece its own blocks and padding).
        const int input = 5, hidden = 21, outputs = 3, steps = 4, batch = 70;
        var v = Variants.Parse(variant);
        using var pool = new ComputePool(2);
        using var model = ModelTestData.Create(v, input, hidden, 1, outputs, steps, pool);
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
    [InlineData("lstm", 3, 260)]
    [InlineData("gru", 3, 260)]
    [InlineData("cifg", 300, 20)]
    [InlineData("ur-lstm", 300, 20)]
    public void Inference_ReductionLongerThanOneKBlock_BitIdenticalToTrainingForward(string variant, int input, int hidden)
    {
        // The training products cut K into blocks of 256 and store C between them; the inference tile keeps one chain
        // in registers. The values must still agree (a store and reload of a float is exact).
        const int batch = 9, steps = 3, outputs = 2;
        var v = Variants.Parse(variant);
        using var model = ModelTestData.Create(v, input, hidden, 1, outputs, steps);
        var x = ModelTestData.Input(batch, steps, input);
        var train = new float[batch * outputs];
        var infer = new float[batch * outputs];
        model.Forward(x, batch, steps, train, training: true);
        model.Forward(x, batch, steps, infer, training: false);
        Assert.Equal(train, infer);
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void CopyForgetGates_AfterInference_EqualsThoseOfATrainingForward(string variant)
    {
        // Inference keeps no per-step activations; asking for the gates afterwards recomputes them from its input.
        const int batch = 11, steps = 4, input = 3, hidden = 18;
        var v = Variants.Parse(variant);
        using var pool = new ComputePool(2);
        using var inferred = ModelTestData.Create(v, input, hidden, 2, 2, steps, pool);
        using var trained = ModelTestData.Create(v, input, hidden, 2, 2, steps);
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
        using var model = ModelTestData.Create(Variant.Lstm, 5, 21, 2, 3, 6, pool);
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
}
