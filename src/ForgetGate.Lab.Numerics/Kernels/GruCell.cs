using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused GRU cell ("reset after", as PyTorch) on one batch row of one 16-unit tile, gate blocks r, z, n:
/// r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r⊙(W_hn h + b_hn)), h' = (1−z)⊙n + z⊙h.
/// The input side x already holds b_ih (and b_hh for r, z); the hidden side hh holds W_hh h without bias.
/// </summary>
internal static class GruCell
{
    /// <summary>Writes r, z, n over x (in place), W_hn h + b_hn over the n block of hh, and h'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(ref float x, ref float hh, ref float biasN, ref float hPrev, ref float h)
    {
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var r = Sigmoid(Vector256.LoadUnsafe(ref x, off) + Vector256.LoadUnsafe(ref hh, off));
            var z = Sigmoid(Vector256.LoadUnsafe(ref x, off + 16) + Vector256.LoadUnsafe(ref hh, off + 16));
            var hn = Vector256.LoadUnsafe(ref hh, off + 32) + Vector256.LoadUnsafe(ref biasN, off);
            var n = Tanh(Fma(r, hn, Vector256.LoadUnsafe(ref x, off + 32)));
            r.StoreUnsafe(ref x, off);
            z.StoreUnsafe(ref x, off + 16);
            n.StoreUnsafe(ref x, off + 32);
            hn.StoreUnsafe(ref hh, off + 32);
            Fma(z, Vector256.LoadUnsafe(ref hPrev, off) - n, n).StoreUnsafe(ref h, off);
        }
    }

    /// <summary>
    /// Writes dL/dz of the input side (dzx) and hidden side (dzh: the n block is scaled by r) and adds the
    /// direct path z⊙dh into <paramref name="dhPrev"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(ref float act, ref float hh, ref float hPrev, ref float dh, ref float dzx, ref float dzh, ref float dhPrev)
    {
        var one = Vector256<float>.One;
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var r = Vector256.LoadUnsafe(ref act, off);
            var z = Vector256.LoadUnsafe(ref act, off + 16);
            var n = Vector256.LoadUnsafe(ref act, off + 32);
            var hn = Vector256.LoadUnsafe(ref hh, off + 32);
            var dhv = Vector256.LoadUnsafe(ref dh, off);
            var dz = dhv * (Vector256.LoadUnsafe(ref hPrev, off) - n) * z * (one - z);
            var dan = dhv * (one - z) * (one - (n * n));
            var dr = dan * hn * r * (one - r);
            Fma(dhv, z, Vector256.LoadUnsafe(ref dhPrev, off)).StoreUnsafe(ref dhPrev, off);
            dr.StoreUnsafe(ref dzx, off);
            dr.StoreUnsafe(ref dzh, off);
            dz.StoreUnsafe(ref dzx, off + 16);
            dz.StoreUnsafe(ref dzh, off + 16);
            dan.StoreUnsafe(ref dzx, off + 32);
            (dan * r).StoreUnsafe(ref dzh, off + 32);
        }
    }
}
