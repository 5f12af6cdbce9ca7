using System.Runtime.CompilerServices;
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
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Forward<T>(ref float x, ref float hh, ref float biasN, ref float hPrev, ref float h)
        where T : struct, ILanes<T>
    {
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var r = Sigmoid(T.Load(ref x, off) + T.Load(ref hh, off));
            var z = Sigmoid(T.Load(ref x, off + Block1) + T.Load(ref hh, off + Block1));
            var hn = T.Load(ref hh, off + Block2) + T.Load(ref biasN, off);
            var n = Tanh(T.Fma(r, hn, T.Load(ref x, off + Block2)));
            r.Store(ref x, off);
            z.Store(ref x, off + Block1);
            n.Store(ref x, off + Block2);
            hn.Store(ref hh, off + Block2);
            T.Fma(z, T.Load(ref hPrev, off) - n, n).Store(ref h, off);
        }
    }

    /// <summary>
    /// Writes dL/dz of the input side (dzx) and hidden side (dzh: the n block is scaled by r) and adds the
    /// direct path z⊙dh into <paramref name="dhPrev"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Backward<T>(ref float act, ref float hh, ref float hPrev, ref float dh, ref float dzx, ref float dzh, ref float dhPrev)
        where T : struct, ILanes<T>
    {
        var one = T.One;
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var r = T.Load(ref act, off);
            var z = T.Load(ref act, off + Block1);
            var n = T.Load(ref act, off + Block2);
            var hn = T.Load(ref hh, off + Block2);
            var dhv = T.Load(ref dh, off);
            var dz = dhv * (T.Load(ref hPrev, off) - n) * z * (one - z);
            var dan = dhv * (one - z) * (one - (n * n));
            var dr = dan * hn * r * (one - r);
            T.Fma(dhv, z, T.Load(ref dhPrev, off)).Store(ref dhPrev, off);
            dr.Store(ref dzx, off);
            dr.Store(ref dzh, off);
            dz.Store(ref dzx, off + Block1);
            dz.Store(ref dzh, off + Block1);
            dan.Store(ref dzx, off + Block2);
            (dan * r).Store(ref dzh, off + Block2);
        }
    }
}
