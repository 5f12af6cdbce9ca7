using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Random;

public sealed class RngTests
{
    [Fact]
    public void NextUInt64_SameSeed_SameSequence()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }
    }

    [Fact]
    public void Split_IsIndependentOfParentUsage()
    {
        var a = new Rng(7);
        var b = new Rng(7);
        for (int i = 0; i < 10; i++)
        {
            b.NextUInt64();
        }

        Assert.Equal(a.Split("data").NextUInt64(), b.Split("data").NextUInt64());
        Assert.NotEqual(a.Split("data").NextUInt64(), a.Split("init").NextUInt64());
    }

    [Fact]
    public void GetState_FromState_ContinuesSequence()
    {
        var a = new Rng(3);
        a.NextUInt64();
        var restored = Rng.FromState(a.GetState());
        Assert.Equal(a.NextUInt64(), restored.NextUInt64());
    }

    [Fact]
    public void NextInt_IsUniformWithinChiSquareBound()
    {
        var rng = new Rng(11);
        const int Bins = 10, Draws = 100_000;
        var counts = new int[Bins];
        for (int i = 0; i < Draws; i++)
        {
            counts[rng.NextInt(Bins)]++;
        }

        double expected = Draws / (double)Bins;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // 9 degrees of freedom: P(chi2 > 27.88) = 0.001.
        Assert.True(chi2 < 27.88, $"chi2 = {chi2}");
    }

    [Fact]
    public void NextGaussian_HasUnitMoments()
    {
        var rng = new Rng(5);
        const int N = 200_000;
        double sum = 0, sumSq = 0;
        for (int i = 0; i < N; i++)
        {
            double x = rng.NextGaussian();
            sum += x;
            sumSq += x * x;
        }

        double mean = sum / N;
        double variance = (sumSq / N) - (mean * mean);
        // Standard error of the mean is 1/sqrt(N) ≈ 0.0022; 5 sigma.
        Assert.InRange(mean, -0.011, 0.011);
        Assert.InRange(variance, 0.98, 1.02);
    }

    [Fact]
    public void Shuffle_IsAPermutation()
    {
        var rng = new Rng(9);
        int[] items = Enumerable.Range(0, 257).ToArray();
        rng.Shuffle<int>(items);
        Assert.Equal(Enumerable.Range(0, 257), items.Order());
        Assert.NotEqual(Enumerable.Range(0, 257), items);
    }
}
