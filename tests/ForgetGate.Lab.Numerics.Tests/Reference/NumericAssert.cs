using System.Globalization;

namespace ForgetGate.Lab.Numerics.Tests.Reference;

/// <summary>Comparison of tensors with a tolerance relative to the expected tensor's largest magnitude.</summary>
internal static class NumericAssert
{
    /// <summary>
    /// Asserts |actual[i] − expected[i]| ≤ relative · max(maxᵢ|expected[i]|, floor) for every i.
    /// Scaling by the tensor's max (not per element) is how rounding error behaves in sums of products:
    /// a near-zero element produced by cancellation carries the absolute error of its large terms.
    /// </summary>
    public static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double relative, string what, double floor = 1e-6)
    {
        var a = new double[actual.Length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = actual[i];
        }

        Close(expected, a, relative, what, floor);
    }

    /// <inheritdoc cref="Close(ReadOnlySpan{double}, ReadOnlySpan{float}, double, string, double)"/>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative, string what, double floor = 1e-6)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++)
        {
            e[i] = expected[i];
        }

        Close(e, actual, relative, what, floor);
    }

    /// <inheritdoc cref="Close(ReadOnlySpan{double}, ReadOnlySpan{float}, double, string, double)"/>
    public static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double relative, string what, double floor = 1e-6)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}.");
        double scale = floor;
        foreach (double v in expected)
        {
            Assert.False(double.IsNaN(v) || double.IsInfinity(v), $"{what}: expected tensor holds {v}.");
            scale = Math.Max(scale, Math.Abs(v));
        }

        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= worst))
            {
                worst = double.IsNaN(err) ? double.PositiveInfinity : err;
                worstIndex = i;
            }
        }

        Assert.True(
            worst <= relative * scale,
            string.Create(CultureInfo.InvariantCulture, $"{what}: worst error {worst:G4} at [{worstIndex}] (actual {(worstIndex >= 0 ? actual[worstIndex] : 0):R}, expected {(worstIndex >= 0 ? expected[worstIndex] : 0):R}) exceeds {relative:G2} × max|expected| {scale:G4}."));
    }
}
