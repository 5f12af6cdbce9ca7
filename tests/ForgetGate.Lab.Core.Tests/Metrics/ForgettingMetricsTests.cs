using ForgetGate.Lab.Core.Metrics;

namespace ForgetGate.Lab.Core.Tests.Metrics;

public sealed class ForgettingMetricsTests
{
    // T = 3. Row 0 untrained; rows 1..3 after each task.
    //            task1 task2 task3
    // R[0]       0.10  0.12  0.08
    // R[1]       0.90  0.30  0.20
    // R[2]       0.70  0.85  0.25
    // R[3]       0.60  0.50  0.95
    private static readonly double[,] s_r =
    {
        { 0.10, 0.12, 0.08 },
        { 0.90, 0.30, 0.20 },
        { 0.70, 0.85, 0.25 },
        { 0.60, 0.50, 0.95 },
    };

    [Fact]
    public void Acc_IsMeanOfFinalRow() =>
        Assert.Equal((0.60 + 0.50 + 0.95) / 3, ForgettingMetrics.Acc(s_r), 12);

    [Fact]
    public void Bwt_DividesByTMinusOne() =>
        // ((0.60 − 0.90) + (0.50 − 0.85)) / 2 = −0.325
        Assert.Equal(-0.325, ForgettingMetrics.Bwt(s_r), 12);

    [Fact]
    public void Fwt_UsesRowBeforeTaskMinusBaseline() =>
        // ((R[1][2] − b2) + (R[2][3] − b3)) / 2 = ((0.30 − 0.12) + (0.25 − 0.08)) / 2 = 0.175
        Assert.Equal(0.175, ForgettingMetrics.Fwt(s_r), 12);

    [Fact]
    public void Forgetting_MaxOverRowsOneToTMinusOne() =>
        // task1: max(0.90, 0.70) − 0.60 = 0.30; task2: max(0.30, 0.85) − 0.50 = 0.35 → 0.325
        Assert.Equal(0.325, ForgettingMetrics.Forgetting(s_r), 12);

    [Fact]
    public void LearningAccuracy_IsMeanOfDiagonal() =>
        Assert.Equal((0.90 + 0.85 + 0.95) / 3, ForgettingMetrics.LearningAccuracy(s_r), 12);

    [Fact]
    public void Forgetting_CanBeNegative_WhenAnOldTaskImprovesAtTheEnd()
    {
        // Task 1 peaks at 0.5 before the last task and ends at 0.8: −0.3 (backward transfer, not forgetting).
        double[,] r = { { 0.1, 0.1 }, { 0.5, 0.2 }, { 0.8, 0.9 } };
        Assert.Equal(-0.3, ForgettingMetrics.Forgetting(r), 12);
    }

    [Fact]
    public void FirstMinusLast_DiffersFromChaudhry_WhenPeakIsNotOnTheDiagonal()
    {
        // Task 1: learned to 0.6, rose to 0.9 while learning task 2, fell to 0.5 at the end.
        // Chaudhry: max(0.6, 0.9) − 0.5 = 0.4. Avalanche first-minus-last: 0.6 − 0.5 = 0.1.
        double[,] r = { { 0.1, 0.1, 0.1 }, { 0.6, 0.2, 0.2 }, { 0.9, 0.8, 0.3 }, { 0.5, 0.8, 0.9 } };
        double chaudhry = ((0.9 - 0.5) + (0.8 - 0.8)) / 2;
        double avalanche = ((0.6 - 0.5) + (0.8 - 0.8)) / 2;
        Assert.Equal(chaudhry, ForgettingMetrics.Forgetting(r), 12);
        Assert.Equal(avalanche, ForgettingMetrics.FirstMinusLast(r), 12);
        Assert.Equal(-ForgettingMetrics.Bwt(r), ForgettingMetrics.FirstMinusLast(r), 12);
    }

    [Fact]
    public void Intransigence_ComparesDiagonalWithJointRun()
    {
        double[,] joint = { { 0.1, 0.1, 0.1 }, { 0.95, 0.3, 0.2 }, { 0.9, 0.9, 0.3 }, { 0.9, 0.9, 0.97 } };
        // ((0.95 − 0.90) + (0.90 − 0.85) + (0.97 − 0.95)) / 3 = 0.04
        Assert.Equal(0.04, ForgettingMetrics.Intransigence(s_r, joint), 12);
    }

    [Fact]
    public void Compute_SingleTask_LeavesTransferMetricsUndefined()
    {
        double[,] r = { { 0.1 }, { 0.9 } };
        var m = ForgettingMetrics.Compute(r).ToDictionary(v => v.Name);
        Assert.Equal(0.9, m["acc"].Value, 12);
        Assert.True(double.IsNaN(m["bwt"].Value));
        Assert.True(double.IsNaN(m["fwt"].Value));
        Assert.True(double.IsNaN(m["forgetting"].Value));
        Assert.All(m.Values, v => Assert.False(string.IsNullOrWhiteSpace(v.Convention)));
    }

    [Fact]
    public void Compute_WrongShape_NamesTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => ForgettingMetrics.Compute(new double[3, 3]));
        Assert.Contains("3 × 3", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(2, 4.303)]
    [InlineData(4, 2.776)]
    [InlineData(9, 2.262)]
    [InlineData(29, 2.045)]
    [InlineData(100, 1.984)]
    [InlineData(double.PositiveInfinity, 1.960)]
    public void StudentT_Quantile975_MatchesTables(double df, double expected) =>
        // Tables give 3 decimals.
        Assert.Equal(expected, StudentT.Quantile(0.975, df), 3);

    [Fact]
    public void MeanInterval_ThreeValues_UsesTWithTwoDegreesOfFreedom()
    {
        var ci = MeanInterval.Of([1.0, 2.0, 3.0]);
        // mean 2, s = 1, half-width = t(0.975, 2) · 1/√3 = 4.3027 / 1.7321 = 2.4841
        Assert.Equal(2.0, ci.Mean, 12);
        Assert.Equal(4.302652729911275 / Math.Sqrt(3), ci.HalfWidth, 9);
        Assert.True(double.IsNaN(MeanInterval.Of([5.0]).HalfWidth));
    }
}
