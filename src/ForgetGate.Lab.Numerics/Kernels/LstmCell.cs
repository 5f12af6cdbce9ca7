using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused LSTM cell on one batch row of one 16-unit tile, gate blocks i, f, g, o of 16 lanes each:
/// c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c'). Used by lstm, lstm-fb1 and chrono.
/// </summary>
internal static class LstmCell
{
    /// <summary>Turns pre-activations z (in place) into activations, writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(ref float z, ref float cPrev, ref float c, ref float h)
    {
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var i = Sigmoid(Vector256.LoadUnsafe(ref z, off));
            var f = Sigmoid(Vector256.LoadUnsafe(ref z, off + 16));
            var g = Tanh(Vector256.LoadUnsafe(ref z, off + 32));
            var o = Sigmoid(Vector256.LoadUnsafe(ref z, off + 48));
            i.StoreUnsafe(ref z, off);
            f.StoreUnsafe(ref z, off + 16);
            g.StoreUnsafe(ref z, off + 32);
            o.StoreUnsafe(ref z, off + 48);
            var cn = Fma(f, Vector256.LoadUnsafe(ref cPrev, off), i * g);
            cn.StoreUnsafe(ref c, off);
            (o * Tanh(cn)).StoreUnsafe(ref h, off);
        }
    }

    /// <summary>
    /// From activations, c_{t-1}, c_t, dL/dh_t and the carried dL/dc_t (updated in place to dL/dc_{t-1})
    /// writes dL/dz for the four gate blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
    {
        var one = Vector256<float>.One;
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var i = Vector256.LoadUnsafe(ref act, off);
            var f = Vector256.LoadUnsafe(ref act, off + 16);
            var g = Vector256.LoadUnsafe(ref act, off + 32);
            var o = Vector256.LoadUnsafe(ref act, off + 48);
            var tc = Tanh(Vector256.LoadUnsafe(ref c, off));
            var dhv = Vector256.LoadUnsafe(ref dh, off);
            var dct = Fma(dhv * o, one - (tc * tc), Vector256.LoadUnsafe(ref dc, off));
            (dhv * tc * o * (one - o)).StoreUnsafe(ref dz, off + 48);
            (dct * g * i * (one - i)).StoreUnsafe(ref dz, off);
            (dct * i * (one - (g * g))).StoreUnsafe(ref dz, off + 32);
            (dct * Vector256.LoadUnsafe(ref cPrev, off) * f * (one - f)).StoreUnsafe(ref dz, off + 16);
            (dct * f).StoreUnsafe(ref dc, off);
        }
    }
}
