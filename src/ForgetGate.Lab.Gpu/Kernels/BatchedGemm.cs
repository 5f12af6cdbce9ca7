using ILGPU;
using ILGPU.Runtime;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// Shape and strides of one batched product C[r] = op(A[r])·op(B[r]) (+ D[r]) for every run r: element (m, k) of A
/// is <c>a[r·ARun + m·ARow + k·ACol]</c>, and likewise for B (k, n), C (m, n; unit column stride) and D. Transposes
/// are strides, so one kernel serves every product of the recurrent net; a D with zero strides broadcasts a bias.
/// </summary>
internal struct GemmArgs
{
    public int M;
    public int N;
    public int K;
    public int ARun;
    public int ARow;
    public int ACol;
    public int BRun;
    public int BRow;
    public int BCol;
    public int CRun;
    public int CRow;
    public int DRun;
    public int DRow;
    public int DCol;

    /// <summary>1: add D; 0: D is not read.</summary>
    public int HasD;
}

/// <summary>
/// Batched SGEMM: a group of T×T threads (T = 16 on a GPU; 4 on the CPU accelerator, where each simulated thread is
/// costly) computes a 4T×4T tile of C for one run (grid z = run index), each thread a 4×4 register block, K walked in
/// shared-memory slices of 16. Every element of C is one thread's sum over k = 0, 1, …, K−1 in that order (no split
/// K, no atomics), so a run's result does not depend on the grid size, on which other runs share the launch, or on
/// timing; and the tile size changes only which thread computes an element, not its sum.
/// </summary>
internal static class BatchedGemm
{
    /// <summary>Largest tile edge (T = 16).</summary>
    public const int MaxTile = 64;
    public const int Slice = 16;

    // Rows of the shared tiles are padded by one so that k-major stores of a k-contiguous operand hit distinct banks.
    private const int Stride = MaxTile + 1;

    /// <summary>Grid and group for a product of this shape over <paramref name="runs"/> runs with T×T-thread groups.</summary>
    public static KernelConfig Config(int m, int n, int runs, int threads)
    {
        int tile = 4 * threads;
        return new(new Index3D((n + tile - 1) / tile, (m + tile - 1) / tile, runs), new Index3D(threads, threads, 1));
    }

    /// <summary>The kernel: C[r] = A[r]·B[r] (+ D[r]) as described by <paramref name="g"/>; the group is T×T threads, T ∈ {4, 16}.</summary>
    public static void Kernel(GemmArgs g, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> d)
    {
        int t = Group.DimX;
        int tile = 4 * t;
        int tileMask = tile - 1;
        int tileShift = t == 16 ? 6 : 4;
        int threads = t * t;
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int tid = (ty * t) + tx;
        int n0 = Grid.IdxX * tile;
        int m0 = Grid.IdxY * tile;
        int r = Grid.IdxZ;
        var sa = SharedMemory.Allocate<float>(Slice * Stride);
        var sb = SharedMemory.Allocate<float>(Slice * Stride);
        int aBase = r * g.ARun;
        int bBase = r * g.BRun;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        for (int k0 = 0; k0 < g.K; k0 += Slice)
        {
            for (int l = tid; l < Slice * tile; l += threads)
            {
                // Consecutive threads read consecutive addresses of whichever index is contiguous in memory.
                int mm = g.ACol == 1 ? l >> 4 : l & tileMask;
                int ka = g.ACol == 1 ? l & 15 : l >> tileShift;
                int m = m0 + mm;
                int k = k0 + ka;
                sa[(ka * Stride) + mm] = m < g.M && k < g.K ? a[aBase + (m * g.ARow) + (k * g.ACol)] : 0f;

                int nn = g.BCol == 1 ? l & tileMask : l >> 4;
                int kb = g.BCol == 1 ? l >> tileShift : l & 15;
                int n = n0 + nn;
                k = k0 + kb;
                sb[(kb * Stride) + nn] = n < g.N && k < g.K ? b[bBase + (k * g.BRow) + (n * g.BCol)] : 0f;
            }

            Group.Barrier();
            for (int kk = 0; kk < Slice; kk++)
            {
                int ra = (kk * Stride) + ty;
                int rb = (kk * Stride) + tx;
                float a0 = sa[ra];
                float a1 = sa[ra + t];
                float a2 = sa[ra + (2 * t)];
                float a3 = sa[ra + (3 * t)];
                float b0 = sb[rb];
                float b1 = sb[rb + t];
                float b2 = sb[rb + (2 * t)];
                float b3 = sb[rb + (3 * t)];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        int mRow = m0 + ty;
        int nCol = n0 + tx;
        Store(g, c, d, r, mRow, nCol, t, c00, c01, c02, c03);
        Store(g, c, d, r, mRow + t, nCol, t, c10, c11, c12, c13);
        Store(g, c, d, r, mRow + (2 * t), nCol, t, c20, c21, c22, c23);
        Store(g, c, d, r, mRow + (3 * t), nCol, t, c30, c31, c32, c33);
    }

    private static void Store(GemmArgs g, ArrayView<float> c, ArrayView<float> d, int r, int m, int n, int t, float v0, float v1, float v2, float v3)
    {
        if (m >= g.M)
        {
            return;
        }

        Store1(g, c, d, r, m, n, v0);
        Store1(g, c, d, r, m, n + t, v1);
        Store1(g, c, d, r, m, n + (2 * t), v2);
        Store1(g, c, d, r, m, n + (3 * t), v3);
    }
    private static void Store1(GemmArgs g, ArrayView<float> c, ArrayView<float> d, int r, int m, int n, float v)
    {
        if (n < g.N)
        {
            if (g.HasD != 0)
            {
                v += d[(r * g.DRun) + (m * g.DRow) + (n * g.DCol)];
            }

            c[(r * g.CRun) + (m * g.CRow) + n] = v;
        }
    }
}
