using ILGPU;
using static ForgetGate.Lab.Gpu.Kernels.DeviceMath;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// Fused cells of the LSTM family with a cell state, one thread per (batch row, unit) of one run (index.Y = run):
/// <list type="bullet">
/// <item><c>lstm</c> (also lstm-fb1, chrono), gates i, f, g, o: c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c').</item>
/// <item><c>cifg</c>, gates f, g, o: c' = σ(f)c + (1−σ(f))tanh(g).</item>
/// <item><c>ur-lstm</c>, gates f, r, u, o with the forget bias already in z: φ = σ(z_f), ρ = σ(z_r),
/// γ = φ((1−2ρ)φ + 2ρ), c' = γc + (1−γ)tanh(u).</item>
/// </list>
/// Forward turns the pre-activations z (x·W_ihᵀ + h·W_hhᵀ + biases) into activations in place, as the managed
/// engine does, so backward reads them back.
/// </summary>
internal static class LstmFamilyCells
{
    /// <summary>Forward step t: z at step t, cPrev = C[t], c = C[t+1], h = H[t+1].</summary>
    public static void Forward(Index2D index, CellArgs a, int kind, ArrayView<float> z, ArrayView<float> cPrev, ArrayView<float> c, ArrayView<float> h)
    {
        int hidden = a.Hidden;
        int b = index.X / hidden;
        int u = index.X - (b * hidden);
        int r = index.Y;
        int g = kind == CellKinds.Cifg ? 3 : 4;
        int zi = (r * a.ZRun) + (b * g * hidden) + u;
        int si = (r * a.StateRun) + index.X;
        float cp = cPrev[si];
        float cn;
        float o;
        if (kind == CellKinds.Cifg)
        {
            float f = Sigmoid(z[zi]);
            float gg = Tanh(z[zi + hidden]);
            o = Sigmoid(z[zi + (2 * hidden)]);
            z[zi] = f;
            z[zi + hidden] = gg;
            z[zi + (2 * hidden)] = o;
            cn = (f * (cp - gg)) + gg;
        }
        else if (kind == CellKinds.UrLstm)
        {
            float phi = Sigmoid(z[zi]);
            float rho = Sigmoid(z[zi + hidden]);
            float uu = Tanh(z[zi + (2 * hidden)]);
            o = Sigmoid(z[zi + (3 * hidden)]);
            z[zi] = phi;
            z[zi + hidden] = rho;
            z[zi + (2 * hidden)] = uu;
            z[zi + (3 * hidden)] = o;
            float twoRho = rho + rho;
            float gamma = phi * (((1f - twoRho) * phi) + twoRho);
            cn = (gamma * (cp - uu)) + uu;
        }
        else
        {
            float i = Sigmoid(z[zi]);
            float f = Sigmoid(z[zi + hidden]);
            float gg = Tanh(z[zi + (2 * hidden)]);
            o = Sigmoid(z[zi + (3 * hidden)]);
            z[zi] = i;
            z[zi + hidden] = f;
            z[zi + (2 * hidden)] = gg;
            z[zi + (3 * hidden)] = o;
            cn = (f * cp) + (i * gg);
        }

        c[si] = cn;
        h[si] = o * Tanh(cn);
    }

    /// <summary>
    /// Backward step t: from activations, C[t], C[t+1], dL/dh_t and the carried dL/dc (updated in place to
    /// dL/dc_{t−1}) writes dL/dz of the four (cifg: three) gate blocks.
    /// </summary>
    public static void Backward(
        Index2D index, CellArgs a, int kind, ArrayView<float> act, ArrayView<float> cPrev, ArrayView<float> c,
        ArrayView<float> dh, ArrayView<float> dc, ArrayView<float> dz)
    {
        int hidden = a.Hidden;
        int b = index.X / hidden;
        int u = index.X - (b * hidden);
        int r = index.Y;
        int g = kind == CellKinds.Cifg ? 3 : 4;
        int zi = (r * a.ZRun) + (b * g * hidden) + u;
        int si = (r * a.StateRun) + index.X;
        int ci = (r * a.CarryRun) + index.X;
        float dhv = dh[(r * a.DhRun) + index.X];
        float cp = cPrev[si];
        float tc = Tanh(c[si]);
        if (kind == CellKinds.Cifg)
        {
            float f = act[zi];
            float gg = act[zi + hidden];
            float o = act[zi + (2 * hidden)];
            float dct = (dhv * o * (1f - (tc * tc))) + dc[ci];
            dz[zi] = dct * (cp - gg) * f * (1f - f);
            dz[zi + hidden] = dct * (1f - f) * (1f - (gg * gg));
            dz[zi + (2 * hidden)] = dhv * tc * o * (1f - o);
            dc[ci] = dct * f;
        }
        else if (kind == CellKinds.UrLstm)
        {
            float phi = act[zi];
            float rho = act[zi + hidden];
            float uu = act[zi + (2 * hidden)];
            float o = act[zi + (3 * hidden)];
            float twoRho = rho + rho;
            float gamma = phi * (((1f - twoRho) * phi) + twoRho);
            float dct = (dhv * o * (1f - (tc * tc))) + dc[ci];
            float dGamma = dct * (cp - uu);
            float phiSlope = phi * (1f - phi);
            float dPhi = dGamma * 2f * (((1f - twoRho) * phi) + rho);
            float dRho = dGamma * 2f * phiSlope;
            dz[zi] = dPhi * phiSlope;
            dz[zi + hidden] = dRho * rho * (1f - rho);
            dz[zi + (2 * hidden)] = dct * (1f - gamma) * (1f - (uu * uu));
            dz[zi + (3 * hidden)] = dhv * tc * o * (1f - o);
            dc[ci] = dct * gamma;
        }
        else
        {
            float i = act[zi];
            float f = act[zi + hidden];
            float gg = act[zi + (2 * hidden)];
            float o = act[zi + (3 * hidden)];
            float dct = (dhv * o * (1f - (tc * tc))) + dc[ci];
            dz[zi] = dct * gg * i * (1f - i);
            dz[zi + hidden] = dct * cp * f * (1f - f);
            dz[zi + (2 * hidden)] = dct * i * (1f - (gg * gg));
            dz[zi + (3 * hidden)] = dhv * tc * o * (1f - o);
            dc[ci] = dct * f;
        }
    }
}
