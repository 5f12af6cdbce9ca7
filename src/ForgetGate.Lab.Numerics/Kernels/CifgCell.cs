using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused coupled input–forget cell on one batch row of one 16-unit tile, gate blocks f, g, o:
/// c' = σ(f)⊙c + (1−σ(f))⊙tanh(g), h' = σ(o)⊙tanh(c').
/// </summary>
internal static class CifgCell
{
    /// <summary>Turns pre-activations z (in place) into activations, writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(ref float z, ref float cPrev, ref float c, ref float h)
    {
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var f = Sigmoid(Vector256.LoadUnsafe(ref z, off));
            var g = Tanh(Vector256.LoadUnsafe(ref z, off + 16));
            var o = Sigmoid(Vector256.LoadUnsafe(ref z, off + 32));
            f.StoreUnsafe(ref z, off);
            g.StoreUnsafe(ref z, off + 16);
            o.StoreUnsafe(ref z, off + 32);
            var cn = Fma(f, Vector256.LoadUnsafe(ref cPrev, off) - g, g);
            cn.StoreUnsafe(ref c, off);
            (o * Tanh(cn)).StoreUnsafe(ref h, off);
        }
    }

    /// <summary>Writes dL/dz for f, g, o and updates the carried dL/dc in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
    {
        var one = Vector256<float>.One;
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var f = Vector256.LoadUnsafe(ref act, off);
            var g = Vector256.LoadUnsafe(ref act, off + 16);
            var o = Vector256.LoadUnsafe(ref act, off + 32);
            var tc = Tanh(Vector256.LoadUnsafe(ref c, off));
            var dhv = Vector256.LoadUnsafe(ref dh, off);
            var dct = Fma(dhv * o, one - (tc * tc), Vector256.LoadUnsafe(ref dc, off));
            (dct * (Vector256.LoadUnsafe(ref cPrev, off) - g) * f * (one - f)).StoreUnsafe(ref dz, off);
            (dct * (one - f) * (one - (g * g))).StoreUnsafe(ref dz, off + 16);
            (dhv * tc * o * (one - o)).StoreUnsafe(ref dz, off + 32);
            (dct * f).StoreUnsafe(ref dc, off);
        }
    }
}
