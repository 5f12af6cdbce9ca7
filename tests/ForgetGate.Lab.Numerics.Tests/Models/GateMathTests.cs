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
            float actual = GateMath.Tanh(new Lanes256(Vector256.Create(x))).Value.GetElement(0);
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
            float actual = GateMath.Sigmoid(new Lanes256(Vector256.Create(x))).Value.GetElement(0);
            double expected = 1 / (1 + Math.Exp(-(double)x));

            // exp is accurate to ~2 ulp; 1/(1+e) adds two roundings. Below the clamp (x < −87.3) σ is tiny and
            // the clamp makes it e^−87.3 ≈ 1e-38 instead of smaller: absolute 1e-37 covers that.
            Assert.True(Math.Abs(actual - expected) <= 3e-7 * expected + 1e-37, $"σ({x}) = {actual}, expected {expected}");
        }
    }

    [Fact]
    public void WideAndNarrowLanes_BitIdentical()
    {
        // The cells run 512 bits wide where AVX-512 is used and 256 bits elsewhere; every operation is lane-wise
        // and the same IEEE operation, so a model's results do not depend on the width (without AVX-512 the
        // 512-bit side is the runtime's software path, which must agree too).
        var points = Points().ToArray();
        for (int i = 0; i + 16 <= points.Length; i += 16)
        {
            var wide = new Lanes512(Vector512.Create(points.AsSpan(i, 16)));
            var low = new Lanes256(Vector256.Create(points.AsSpan(i, 8)));
            var high = new Lanes256(Vector256.Create(points.AsSpan(i + 8, 8)));
            Check(GateMath.Exp(wide), GateMath.Exp(low), GateMath.Exp(high), "exp", i);
            Check(GateMath.Sigmoid(wide), GateMath.Sigmoid(low), GateMath.Sigmoid(high), "σ", i);
            Check(GateMath.Tanh(wide), GateMath.Tanh(low), GateMath.Tanh(high), "tanh", i);
        }

        static void Check(Lanes512 wide, Lanes256 low, Lanes256 high, string name, int at)
        {
            for (int lane = 0; lane < 16; lane++)
            {
                float narrow = lane < 8 ? low.Value.GetElement(lane) : high.Value.GetElement(lane - 8);
                Assert.True(BitConverter.SingleToInt32Bits(wide.Value.GetElement(lane)) == BitConverter.SingleToInt32Bits(narrow), $"{name} of point {at + lane}: {wide.Value.GetElement(lane)} (512-bit) vs {narrow} (256-bit)");
            }
        }
    }
}
