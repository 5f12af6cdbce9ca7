using ILGPU;
using static ForgetGate.Lab.Gpu.Kernels.DeviceMath;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// Fused GRU cell ("reset after", as PyTorch/cuDNN), gate blocks r, z, n, one thread per (batch row, unit) of one run:
/// r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r⊙(W_hn h + b_hn)), h' = (1−z)⊙n + z⊙h.
/// The input side x holds x·W_ihᵀ + b_ih (+ b_hh for r, z); the hidden side hh holds h·W_hhᵀ without bias.
/// </summary>
internal static class GruCell
{
    /// <summary>Forward step t: writes r, z, n over x, W_hn h + b_hn over the n block of hh, and h' = H[t+1].</summary>
    public static void Forward(Index2D index, CellArgs a, ArrayView<float> x, ArrayView<float> hh, ArrayView<float> biasN, int biasRun, ArrayView<float> hPrev, ArrayView<float> h)
    {
        int hidden = a.Hidden;
        int b = index.X / hidden;
        int u = index.X - (b * hidden);
        int r = index.Y;
        int zi = (r * a.ZRun) + (b * 3 * hidden) + u;
        int si = (r * a.StateRun) + index.X;
        float rr = Sigmoid(x[zi] + hh[zi]);
        float zz = Sigmoid(x[zi + hidden] + hh[zi + hidden]);
        float hn = hh[zi + (2 * hidden)] + biasN[(r * biasRun) + u];
        float n = Tanh((rr * hn) + x[zi + (2 * hidden)]);
        x[zi] = rr;
        x[zi + hidden] = zz;
        x[zi + (2 * hidden)] = n;
        hh[zi + (2 * hidden)] = hn;
        h[si] = (zz * (hPrev[si] - n)) + n;
    }

    /// <summary>
    /// Backward step t: writes dL/dz of the input side (dzx) and of the hidden side (dzh: the n block scaled by r),
    /// and, when a previous step exists, the base of its dL/dh: dL/dh from above plus the direct path z⊙dh.
    /// </summary>
    public static void Backward(
        Index2D index, CellArgs a, ArrayView<float> act, ArrayView<float> hh, ArrayView<float> hPrev, ArrayView<float> dh,
        ArrayView<float> abovePrev, ArrayView<float> nextBase, ArrayView<float> dzx, ArrayView<float> dzh)
    {
        int hidden = a.Hidden;
        int b = index.X / hidden;
        int u = index.X - (b * hidden);
        int r = index.Y;
        int zi = (r * a.ZRun) + (b * 3 * hidden) + u;
        float rr = act[zi];
        float zz = act[zi + hidden];
        float n = act[zi + (2 * hidden)];
        float hn = hh[zi + (2 * hidden)];
        float dhv = dh[(r * a.DhRun) + index.X];
        float dz = dhv * (hPrev[(r * a.StateRun) + index.X] - n) * zz * (1f - zz);
        float dan = dhv * (1f - zz) * (1f - (n * n));
        float dr = dan * hn * rr * (1f - rr);
        dzx[zi] = dr;
        dzh[zi] = dr;
        dzx[zi + hidden] = dz;
        dzh[zi + hidden] = dz;
        dzx[zi + (2 * hidden)] = dan;
        dzh[zi + (2 * hidden)] = dan * rr;
        if (a.HasPrevious != 0)
        {
            nextBase[(r * a.CarryRun) + index.X] = abovePrev[(r * a.AboveRun) + index.X] + (dhv * zz);
        }
    }
}
