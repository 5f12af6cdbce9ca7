using System.Runtime.CompilerServices;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>Vector activations shared by the fused cell kernels (one register in, one out, no memory pass), at either lane width.</summary>
internal static class GateMath
{
    /// <summary>Lanes per gate block of a unit tile: cell kernels work on tiles of this many hidden units.</summary>
    public const int TileUnits = 16;

    // Why the cell kernels' offsets are 16, 32, 48: the layer permutes the gate columns of W_ih, W_hh and the biases
    // (RecurrentLayer) so that in a batch row of z each 16-unit tile holds its G gate blocks side by side,
    // [block 0 | block 1 | …], TileUnits lanes (one 64-byte cache line) each. A kernel reads gate k of the tile's units
    // at off + k·TileUnits, so a unit's gates are in registers together whatever H is; checkpoints keep PyTorch's order.

    /// <summary>Offset of the tile's second gate block (f of lstm, z of gru, g of cifg, r of ur-lstm).</summary>
    public const int Block1 = TileUnits;

    /// <summary>Offset of the tile's third gate block.</summary>
    public const int Block2 = 2 * TileUnits;

    /// <summary>Offset of the tile's fourth gate block.</summary>
    public const int Block3 = 3 * TileUnits;

    // Why the cell kernels are [MethodImpl(NoInlining)]: each is its own JIT root. Inlined into the layer's step loop
    // (or with ILanes wrapper constructors and property getters in the same method) the JIT's inlining budget ran out
    // and Sigmoid/Tanh/Exp, which must inline, became calls: forward ran 2× slower (commit 95beea7). One call per
    // tile row per step costs nothing next to that.

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
