using ILGPU;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>Rearrangements and small per-run vectors around the products (index.Y = run everywhere).</summary>
internal static class Layout
{
    /// <summary>Batch-major input [B, T, D] of every run → time-major [T, B, D] (index.X over T·B·D).</summary>
    public static void TimeMajor(Index2D index, int batch, int steps, int features, ArrayView<float> source, ArrayView<float> destination)
    {
        int perRun = batch * steps * features;
        int t = index.X / (batch * features);
        int rest = index.X - (t * batch * features);
        int b = rest / features;
        int d = rest - (b * features);
        int r = index.Y;
        destination[(r * perRun) + index.X] = source[(r * perRun) + (((b * steps) + t) * features) + d];
    }

    /// <summary>
    /// The bias added to the input projection of one layer (index.X over G·H): b_ih + b_hh, except the GRU's n block
    /// (b_hn stays inside r⊙(W_hn h + b_hn)); ur-lstm adds its forget bias to z_f and subtracts it from z_r.
    /// </summary>
    public static void InputBias(Index2D index, int kind, int hidden, int paramRun, int biasIh, int biasHh, int forgetBias, ArrayView<float> parameters, ArrayView<float> destination, int destinationRun)
    {
        int j = index.X;
        int r = index.Y;
        int p = r * paramRun;
        float v = parameters[p + biasIh + j];
        if (kind != CellKinds.Gru || j < 2 * hidden)
        {
            v += parameters[p + biasHh + j];
        }

        if (kind == CellKinds.UrLstm && j < 2 * hidden)
        {
            float fb = parameters[p + forgetBias + (j < hidden ? j : j - hidden)];
            v = j < hidden ? v + fb : v - fb;
        }

        destination[(r * destinationRun) + j] = v;
    }

    /// <summary>
    /// Column sums of a [rows, columns] matrix per run, rows added in order 0, 1, … (index.X over columns):
    /// destination[r·dRun + j] = Σ_row source[r·sRun + row·columns + j].
    /// </summary>
    public static void ColumnSums(Index2D index, int rows, int columns, ArrayView<float> source, int sourceRun, ArrayView<float> destination, int destinationRun)
    {
        int j = index.X;
        int r = index.Y;
        int s = (r * sourceRun) + j;
        float sum = 0f;
        for (int row = 0; row < rows; row++)
        {
            sum += source[s + (row * columns)];
        }

        destination[(r * destinationRun) + j] = sum;
    }

    /// <summary>ur-lstm's forget-bias gradient from the input-side bias sums: dL/db_u = Σ dz_f − Σ dz_r (index.X over H).</summary>
    public static void ForgetBiasGradient(Index2D index, int hidden, int paramRun, int biasIhGrad, int forgetBiasGrad, ArrayView<float> gradients)
    {
        int p = index.Y * paramRun;
        gradients[p + forgetBiasGrad + index.X] = gradients[p + biasIhGrad + index.X] - gradients[p + biasIhGrad + hidden + index.X];
    }

    /// <summary>Zeroes the first <c>count</c> values of every run's block (index.X over count): h₀ = c₀ = 0.</summary>
    public static void ZeroPrefix(Index2D index, int runStride, ArrayView<float> destination)
    {
        destination[(index.Y * runStride) + index.X] = 0f;
    }
}
