using System.Runtime.CompilerServices;
using static ForgetGate.Lab.Numerics.Kernels.GateMath;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// Fused UR-LSTM cell on one batch row of one 16-unit tile, gate blocks f, r, u, o, with the forget bias
/// already folded into the pre-activations (z_f + b, z_r − b): φ = σ(f), ρ = σ(r),
/// γ = 2ρφ + (1−2ρ)φ², c' = γ⊙c + (1−γ)⊙tanh(u), h' = σ(o)⊙tanh(c').
/// </summary>
internal static class UrLstmCell
{
    /// <summary>Effective forget gate γ = φ·(2ρ + (1−2ρ)φ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Gamma<T>(T phi, T rho)
        where T : struct, ILanes<T>
    {
        var twoRho = rho + rho;
        return phi * T.Fma(T.One - twoRho, phi, twoRho);
    }

    /// <summary>Turns pre-activations z (in place) into activations φ, ρ, tanh(u), σ(o); writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Forward<T>(ref float z, ref float cPrev, ref float c, ref float h)
        where T : struct, ILanes<T>
    {
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var phi = Sigmoid(T.Load(ref z, off));
            var rho = Sigmoid(T.Load(ref z, off + Block1));
            var u = Tanh(T.Load(ref z, off + Block2));
            var o = Sigmoid(T.Load(ref z, off + Block3));
            phi.Store(ref z, off);
            rho.Store(ref z, off + Block1);
            u.Store(ref z, off + Block2);
            o.Store(ref z, off + Block3);
            var cn = T.Fma(Gamma(phi, rho), T.Load(ref cPrev, off) - u, u);
            cn.Store(ref c, off);
            (o * Tanh(cn)).Store(ref h, off);
        }
    }

    /// <summary>Writes dL/dz for f, r, u, o and updates the carried dL/dc in place.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own JIT root: GateMath says why
    public static void Backward<T>(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
        where T : struct, ILanes<T>
    {
        var one = T.One;
        var two = T.Create(2f);
        for (nuint off = 0; off < TileUnits; off += (nuint)T.Count)
        {
            var phi = T.Load(ref act, off);
            var rho = T.Load(ref act, off + Block1);
            var u = T.Load(ref act, off + Block2);
            var o = T.Load(ref act, off + Block3);
            var gamma = Gamma(phi, rho);
            var tc = Tanh(T.Load(ref c, off));
            var dhv = T.Load(ref dh, off);
            var dct = T.Fma(dhv * o, one - (tc * tc), T.Load(ref dc, off));
            var dGamma = dct * (T.Load(ref cPrev, off) - u);
            var phiSlope = phi * (one - phi);
            var dPhi = dGamma * two * T.Fma(one - (rho + rho), phi, rho);
            var dRho = dGamma * two * phiSlope;
            (dPhi * phiSlope).Store(ref dz, off);
            (dRho * rho * (one - rho)).Store(ref dz, off + Block1);
            (dct * (one - gamma) * (one - (u * u))).Store(ref dz, off + Block2);
            (dhv * tc * o * (one - o)).Store(ref dz, off + Block3);
            (dct * gamma).Store(ref dc, off);
        }
    }
}
