using System.Runtime.CompilerServices;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>Vector activations shared by the fused cell kernels (one register in, one out, no memory pass), at either lane width.</summary>
internal static class GateMath
{
    /// <summary>Lanes per gate block of a unit tile: cell kernels work on tiles of this many hidden units.</summary>
    public const int TileUnits = 16;

    /// <summary>σ(x) = 1 / (1 + e^-x); saturates to 0 or 1 without NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x)
        where T : struct, ILanes<T> =>
        T.One / (T.One + Exp(-x));

    /// <summary>
    /// tanh(x) = 1 − 2 / (e^{2x} + 1), saturating to ±1 without NaN; for |x| &lt; 0.3 (where that difference
    /// cancels to an absolute error of ~1e-7) the Taylor series to x⁹ instead (truncation ≤ 6e-8 relative).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x)
        where T : struct, ILanes<T>
    {
        var viaExp = T.One - (T.Create(2f) / (Exp(x + x) + T.One));
        var x2 = x * x;
        var p = T.Fma(T.Create(62f / 2835f), x2, T.Create(-17f / 315f));
        p = T.Fma(p, x2, T.Create(2f / 15f));
        p = T.Fma(p, x2, T.Create(-1f / 3f));
        var series = T.Fma(p * x2, x, x);
        return T.WhereAbsBelow(x, 0.3f, series, viaExp);
    }

    /// <summary>
    /// e^x in float arithmetic: x = n·ln2 + r with n = round(x·log2 e) (magic-number rounding), ln2 split in two
    /// (Cody–Waite), e^r by its degree-6 Taylor polynomial on |r| ≤ ln2/2 (truncation ≤ 1.2e-7 relative), times 2^n
    /// built in the exponent bits. x is clamped to [−87.3, 88.3] so 2^n stays a normal float. About 3× faster than
    /// Vector256.Exp, which evaluates in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x)
        where T : struct, ILanes<T>
    {
        var magic = T.Create(12582912f);   // 1.5·2^23: adding it rounds to an integer
        x = T.Clamp(x, -87.3f, 88.3f);
        var t = (x * T.Create(1.44269504f)) + magic;
        var n = t - magic;
        var r = T.Fma(n, T.Create(-0.693145751953125f), x);
        r = T.Fma(n, T.Create(-1.428606765330187e-06f), r);
        var p = T.Create(1f / 720f);
        p = T.Fma(p, r, T.Create(1f / 120f));
        p = T.Fma(p, r, T.Create(1f / 24f));
        p = T.Fma(p, r, T.Create(1f / 6f));
        p = T.Fma(p, r, T.Create(0.5f));
        p = T.Fma(p, r, T.One);
        p = T.Fma(p, r, T.One);
        return p * T.Pow2(t, magic);
    }

    /// <summary>Scalar σ with the same formula as the vector path.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Scalar tanh (reference for tests and scalar callers).</summary>
    public static float Tanh(float x) => MathF.Tanh(x);
}
