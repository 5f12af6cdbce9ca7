using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
    public static Vector256<float> Gamma(Vector256<float> phi, Vector256<float> rho)
    {
        var twoRho = rho + rho;
        return phi * Fma(Vector256<float>.One - twoRho, phi, twoRho);
    }

    /// <summary>Turns pre-activations z (in place) into activations φ, ρ, tanh(u), σ(o); writes c' and h'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Forward(ref float z, ref float cPrev, ref float c, ref float h)
    {
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var phi = Sigmoid(Vector256.LoadUnsafe(ref z, off));
            var rho = Sigmoid(Vector256.LoadUnsafe(ref z, off + 16));
            var u = Tanh(Vector256.LoadUnsafe(ref z, off + 32));
            var o = Sigmoid(Vector256.LoadUnsafe(ref z, off + 48));
            phi.StoreUnsafe(ref z, off);
            rho.StoreUnsafe(ref z, off + 16);
            u.StoreUnsafe(ref z, off + 32);
            o.StoreUnsafe(ref z, off + 48);
            var cn = Fma(Gamma(phi, rho), Vector256.LoadUnsafe(ref cPrev, off) - u, u);
            cn.StoreUnsafe(ref c, off);
            (o * Tanh(cn)).StoreUnsafe(ref h, off);
        }
    }

    /// <summary>Writes dL/dz for f, r, u, o and updates the carried dL/dc in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Backward(ref float act, ref float cPrev, ref float c, ref float dh, ref float dc, ref float dz)
    {
        var one = Vector256<float>.One;
        var two = Vector256.Create(2f);
        for (nuint off = 0; off < TileUnits; off += 8)
        {
            var phi = Vector256.LoadUnsafe(ref act, off);
            var rho = Vector256.LoadUnsafe(ref act, off + 16);
            var u = Vector256.LoadUnsafe(ref act, off + 32);
            var o = Vector256.LoadUnsafe(ref act, off + 48);
            var gamma = Gamma(phi, rho);
            var tc = Tanh(Vector256.LoadUnsafe(ref c, off));
            var dhv = Vector256.LoadUnsafe(ref dh, off);
            var dct = Fma(dhv * o, one - (tc * tc), Vector256.LoadUnsafe(ref dc, off));
            var dGamma = dct * (Vector256.LoadUnsafe(ref cPrev, off) - u);
            var phiSlope = phi * (one - phi);
            var dPhi = dGamma * two * Fma(one - (rho + rho), phi, rho);
            var dRho = dGamma * two * phiSlope;
            (dPhi * phiSlope).StoreUnsafe(ref dz, off);
            (dRho * rho * (one - rho)).StoreUnsafe(ref dz, off + 16);
            (dct * (one - gamma) * (one - (u * u))).StoreUnsafe(ref dz, off + 32);
            (dhv * tc * o * (one - o)).StoreUnsafe(ref dz, off + 48);
            (dct * gamma).StoreUnsafe(ref dc, off);
        }
    }
}
