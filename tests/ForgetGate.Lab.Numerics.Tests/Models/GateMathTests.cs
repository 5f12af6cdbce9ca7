using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Tests.Models;

/// <summary>The cell kernels' activations against float64 (they live beside the model because only it uses them).</summary>
public sealed class GateMathTests
{
    private static IEnumerable<float> Points()
    {
        // Dense near 0 (where tanh switches formulas at 0.3), then out to saturation and beyond the exp clamp.
        for (int i = -4000; i <= 4000; i++)
        {
            yield return i * 1e-4f;
        }

        for (int i = -1000; i <= 1000; i++)
        {
            yield return i * 0.1f;
        }

        yield return 1e-30f;
        yield return -1e-30f;
        yield return 1e30f;
        yield return -1e30f;
    }

    [Fact]
    public void Tanh_Vector_WithinFewUlpsRelative()
    {
        foreach (float x in Points())
        {
            float actual = GateMath.Tanh(Vector256.Create(x)).GetElement(0);
            double expected = Math.Tanh(x);

            // 5e-7 relative (≈ 8 ulp): just above |x| = 0.3 the exp-based branch turns exp's 1–2 ulp and the
            // rounding of 1 − q into ~4.2e-7 relative (measured worst case at x = −0.319); the series below 0.3 is
            // ~1 ulp, so the relative error no longer grows without bound as x → 0.
            Assert.True(Math.Abs(actual - expected) <= 5e-7 * Math.Abs(expected) + 1e-37, $"tanh({x}) = {actual}, expected {expected}");
        }
    }

    [Fact]
    public void Sigmoid_Vector_WithinFewUlpsRelative()
    {
        foreach (float x in Points())
        {
            float actual = GateMath.Sigmoid(Vector256.Create(x)).GetElement(0);
            double expected = 1 / (1 + Math.Exp(-(double)x));

            // exp is accurate to ~2 ulp; 1/(1+e) adds two roundings. Below the clamp (x < −87.3) σ is tiny and
            // the clamp makes it e^−87.3 ≈ 1e-38 instead of smaller: absolute 1e-37 covers that.
            Assert.True(Math.Abs(actual - expected) <= 3e-7 * expected + 1e-37, $"σ({x}) = {actual}, expected {expected}");
        }
    }
}
