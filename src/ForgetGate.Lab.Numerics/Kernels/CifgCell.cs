using System.Runtime.CompilerServices;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused coupled input–forget cell on one batch row of one 16-unit tile, gate blocks f, g, o:
/// c' = σ(f)⊙c + (1−σ(f))⊙tanh(g), h' = σ(o)⊙tanh(c').
/// </summary>
internal static class CifgCell
{
    /// <summary>Turns pre-activations z (in place) into activations, writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Forward<T>(ref float z, ref float cPrev, ref float c, ref float h)
        where T : struct, ILanes<T>
    {
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var f = Sigmoid(T.Load(ref z, off));
            var g = Tanh(T.Load(ref z, off + Block1));
            var o = Sigmoid(T.Load(ref z, off + Block2));
            f.Store(ref z, off);
            g.Store(ref z, off + Block1);
            o.Store(ref z, off + Block2);
            var cn = T.Fma(f, T.Load(ref cPrev, off) - g, g);
            cn.Store(ref c, off);
            (o * Tanh(cn)).Store(ref h, off);
        }
    }

    /// <summary>Writes dL/dz for f, g, o and updates the carried dL/dc in place.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Backward<T>(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
        where T : struct, ILanes<T>
    {
        var one = T.One;
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var f = T.Load(ref act, off);
            var g = T.Load(ref act, off + Block1);
            var o = T.Load(ref act, off + Block2);
            var tc = Tanh(T.Load(ref c, off));
            var dhv = T.Load(ref dh, off);
            var dct = T.Fma(dhv * o, one - (tc * tc), T.Load(ref dc, off));
            (dct * (T.Load(ref cPrev, off) - g) * f * (one - f)).Store(ref dz, off);
            (dct * (one - f) * (one - (g * g))).Store(ref dz, off + Block1);
            (dhv * tc * o * (one - o)).Store(ref dz, off + Block2);
            (dct * f).Store(ref dc, off);
        }
    }
}
