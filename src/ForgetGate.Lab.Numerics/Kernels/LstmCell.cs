using System.Runtime.CompilerServices;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused LSTM cell on one batch row of one 16-unit tile, gate blocks i, f, g, o of 16 lanes each:
/// c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c'). Used by lstm, lstm-fb1 and chrono.
/// </summary>
internal static class LstmCell
{
    /// <summary>Turns pre-activations z (in place) into activations, writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Forward<T>(ref float z, ref float cPrev, ref float c, ref float h)
        where T : struct, ILanes<T>
    {
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var i = Sigmoid(T.Load(ref z, off));
            var f = Sigmoid(T.Load(ref z, off + Block1));
            var g = Tanh(T.Load(ref z, off + Block2));
            var o = Sigmoid(T.Load(ref z, off + Block3));
            i.Store(ref z, off);
            f.Store(ref z, off + Block1);
            g.Store(ref z, off + Block2);
            o.Store(ref z, off + Block3);
            var cn = T.Fma(f, T.Load(ref cPrev, off), i * g);
            cn.Store(ref c, off);
            (o * Tanh(cn)).Store(ref h, off);
        }
    }

    /// <summary>
    /// From activations, c_{t-1}, c_t, dL/dh_t and the carried dL/dc_t (updated in place to dL/dc_{t-1})
    /// writes dL/dz for the four gate blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Backward<T>(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
        where T : struct, ILanes<T>
    {
        var one = T.One;
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var i = T.Load(ref act, off);
            var f = T.Load(ref act, off + Block1);
            var g = T.Load(ref act, off + Block2);
            var o = T.Load(ref act, off + Block3);
            var tc = Tanh(T.Load(ref c, off));
            var dhv = T.Load(ref dh, off);
            var dct = T.Fma(dhv * o, one - (tc * tc), T.Load(ref dc, off));
            (dhv * tc * o * (one - o)).Store(ref dz, off + Block3);
            (dct * g * i * (one - i)).Store(ref dz, off);
            (dct * i * (one - (g * g))).Store(ref dz, off + Block2);
            (dct * T.Load(ref cPrev, off) * f * (one - f)).Store(ref dz, off + Block1);
            (dct * f).Store(ref dc, off);
        }
    }
}
