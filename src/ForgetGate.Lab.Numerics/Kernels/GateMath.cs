using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>Vector activations shared by the fused cell kernels (one register in, one out, no memory pass).</summary>
internal static class GateMath
{
    /// <summary>Lanes per gate block of a unit tile: cell kernels work on tiles of this many hidden units.</summary>
    public const int TileUnits = 16;

    /// <summary>σ(x) = 1 / (1 + e^-x); saturates to exactly 0 or 1 without NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    /// <summary>tanh(x) = 1 − 2 / (e^{2x} + 1); saturates to ±1 without NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var two = Vector256.Create(2f);
        return Vector256<float>.One - (two / (Vector256.Exp(x + x) + Vector256<float>.One));
    }

    /// <summary>Fused a·b + c (explicit FMA: the JIT never contracts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Vector256.FusedMultiplyAdd(a, b, c);

    /// <summary>Scalar σ with the same formula as the vector path.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Scalar tanh with the same formula as the vector path.</summary>
    public static float Tanh(float x) => 1f - (2f / (MathF.Exp(x + x) + 1f));
}
