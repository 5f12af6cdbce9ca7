using ForgetGate.Lab.Numerics.Losses;

namespace ForgetGate.Lab.Numerics.Tests.Losses;

public sealed class LossesTests
{
    // Tolerance: values are computed in float32 from exact float inputs; a float64 hand computation
    // differs by a few float32 ulps (relative ~1e-7), so 1e-6 is loose but still catches formula errors.
    private const double Tolerance = 1e-6;

    [Fact]
    public void SoftmaxCrossEntropy_SmallBatch_MatchesFloat64Formula()
    {
        float[] logits = [1.5f, -0.25f, 3f, 0.5f, 0.5f, -2f];
        int[] labels = [2, 0];
        var d = new float[6];
        float loss = ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, labels, 2, 3, d);

        double expected = 0;
        var expectedGrad = new double[6];
        for (int b = 0; b < 2; b++)
        {
            double sum = 0;
            for (int c = 0; c < 3; c++)
            {
                sum += Math.Exp(logits[(b * 3) + c]);
            }

            expected += Math.Log(sum) - logits[(b * 3) + labels[b]];
            for (int c = 0; c < 3; c++)
            {
                expectedGrad[(b * 3) + c] = ((Math.Exp(logits[(b * 3) + c]) / sum) - (c == labels[b] ? 1 : 0)) / 2;
            }
        }

        Assert.Equal(expected / 2, loss, Tolerance);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(expectedGrad[i], d[i], Tolerance);
        }
    }

    [Fact]
    public void SoftmaxCrossEntropy_HugeLogits_StaysFinite()
    {
        float[] logits = [1e30f, 0f, -1e30f];
        var d = new float[3];
        float loss = ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, [1], 1, 3, d);
        Assert.Equal(1e30f, loss, 1e24f);
        Assert.Equal(1f, d[0]);
        Assert.Equal(-1f, d[1]);
        Assert.Equal(0f, d[2]);
    }

    [Fact]
    public void SoftmaxCrossEntropy_AllowedClasses_EqualsCrossEntropyOnTheSubsetOnly()
    {
        float[] logits = [0.3f, 9f, -1f, 2f];
        var d = new float[4];
        float loss = ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, [3], 1, 4, d, [0, 3]);
        var dSub = new float[2];
        float subLoss = ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy([0.3f, 2f], [1], 1, 2, dSub);
        Assert.Equal(subLoss, loss, Tolerance);
        Assert.Equal(dSub[0], d[0], Tolerance);
        Assert.Equal(dSub[1], d[3], Tolerance);
        Assert.Equal(0f, d[1]);
        Assert.Equal(0f, d[2]);
    }

    [Fact]
    public void SoftmaxCrossEntropy_LabelOutOfRange_ThrowsNamingIndexAndValue()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(new float[6], [0, 3], 2, 3, new float[6]));
        Assert.Contains("index 1 is 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SoftmaxCrossEntropy_LabelNotAllowed_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(new float[4], [1], 1, 4, new float[4], [0, 3]));
        Assert.Contains("not one of the allowed classes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MeanSquaredError_Values_MeanOverAllElementsAndGradient()
    {
        float[] p = [1f, 2f, -3f, 0.5f];
        float[] t = [0f, 2.5f, -1f, 0.5f];
        var d = new float[4];
        float loss = ForgetGate.Lab.Numerics.Losses.Losses.MeanSquaredError(p, t, d);
        Assert.Equal((1 + 0.25 + 4 + 0) / 4, loss, Tolerance);
        Assert.Equal([0.5f, -0.25f, -1f, 0f], d);
    }

    [Fact]
    public void MeanSquaredError_LengthMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => ForgetGate.Lab.Numerics.Losses.Losses.MeanSquaredError(new float[3], new float[4], new float[3]));
    }
}
