using ForgetGate.Lab.Numerics.Kernels;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Linalg;

/// <summary>Single-precision general matrix multiply on row-major spans.</summary>
/// <remarks>
/// op(B) is packed into 16-column panels (pooled per thread) and multiplied by the engine's register-blocked
/// kernel (<see cref="MatMul"/>): every element of the product is one in-order FMA chain over k, and threads
/// split the output by column panels or row blocks, never k, so results are bit-identical for any thread count.
/// </remarks>
public static class Gemm
{
    [ThreadStatic]
    private static float[]? t_panels;

    [ThreadStatic]
    private static float[]? t_product;

    [ThreadStatic]
    private static Work? t_work;

    /// <summary>
    /// C[m,n] = alpha · op(A) · op(B) + beta · C, all row-major.
    /// op(A) is [m,k]: A is stored [m,k] (lda ≥ k) or, with <paramref name="transA"/>, [k,m] (lda ≥ m).
    /// op(B) is [k,n]: B is stored [k,n] (ldb ≥ n) or, with <paramref name="transB"/>, [n,k] (ldb ≥ k).
    /// When beta is 0, C is not read (NaNs in C do not propagate).
    /// </summary>
    public static void Multiply(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc,
        ComputePool? pool = null)
    {
        Check(transA, m, k, a, lda, nameof(a), nameof(lda));
        Check(transB, k, n, b, ldb, nameof(b), nameof(ldb));
        if (m < 0 || n < 0 || k < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(m < 0 ? nameof(m) : n < 0 ? nameof(n) : nameof(k), Math.Min(m, Math.Min(n, k)), "Dimensions must not be negative.");
        }

        if (m == 0 || n == 0)
        {
            return;
        }

        if (ldc < n)
        {
            ThrowHelper.ThrowArgument($"ldc ({ldc}) must be at least n ({n}).", nameof(ldc));
        }

        if (c.Length < ((long)(m - 1) * ldc) + n)
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(c));
        }

        if (k == 0 || alpha == 0f)
        {
            Scale(c, m, 0, n, ldc, beta);
            return;
        }

        var panels = Buffer(ref t_panels, Panels.Length(k, n));
        bool direct = alpha == 1f && beta == 0f;
        var product = direct ? null : Buffer(ref t_product, m * n);
        var work = t_work ??= new Work();
        work.Set(transA, transB, m, n, k, alpha, beta, ldc, panels, product, lda, ldb);
        unsafe
        {
            fixed (float* ap = a)
            fixed (float* bp = b)
            fixed (float* cp = c)
            {
                work.A = ap;
                work.ALength = a.Length;
                work.B = bp;
                work.BLength = b.Length;
                work.C = cp;
                work.CLength = c.Length;
                var p = pool ?? ComputePool.SingleThreaded;
                if (p.Threads == 1 || (long)m * n * k < 32_768)
                {
                    work.Execute(0, 1);
                }
                else
                {
                    // Column split: each worker packs the panels it multiplies. Row split: all workers need every
                    // panel, so they first pack a share of its rows each, and the multiply starts once all are done.
                    if (Work.SplitsRows(m, n))
                    {
                        work.Packing = true;
                        p.Run(work);
                        work.Packing = false;
                    }

                    p.Run(work);
                }

                work.A = null;
                work.B = null;
                work.C = null;
            }
        }
    }

    /// <summary>Packs op(B) [k, n] into 16-column panels.</summary>
    internal static void PackB(Transpose transB, int k, int n, ReadOnlySpan<float> b, int ldb, Span<float> panels) =>
        PackB(transB, k, n, b, ldb, 0, (n + Panels.Width - 1) / Panels.Width, 0, k, panels);

    /// <summary>Packs panels [s0, s1) and rows [p0, p1) of op(B) [k, n].</summary>
    private static void PackB(Transpose transB, int k, int n, ReadOnlySpan<float> b, int ldb, int s0, int s1, int p0, int p1, Span<float> panels)
    {
        if (transB == Transpose.No)
        {
            Panels.PackStrips(b, ldb, k, n, s0, s1, p0, p1, panels);
        }
        else
        {
            // op(B)[p, j] = B[j, p]: 16 rows of B become one panel, moved as 8×8 register transposes.
            Panels.PackStripsTransposed(b, ldb, k, n, s0, s1, p0, p1, panels);
        }
    }

    /// <summary>C[i, j0..j1) = beta · C (beta = 0 writes zeros without reading C).</summary>
    private static void Scale(Span<float> c, int m, int j0, int j1, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice((i * ldc) + j0, j1 - j0);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                for (int j = 0; j < row.Length; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    private static void Check(Transpose trans, int rows, int cols, ReadOnlySpan<float> x, int ld, string name, string ldName)
    {
        // Stored shape: [rows, cols] as is, or [cols, rows] transposed.
        int storedRows = trans == Transpose.No ? rows : cols;
        int storedCols = trans == Transpose.No ? cols : rows;
        if (storedRows <= 0 || storedCols <= 0)
        {
            return;
        }

        if (ld < storedCols)
        {
            ThrowHelper.ThrowArgument($"{ldName} ({ld}) must be at least {storedCols}.", ldName);
        }

        if (x.Length < ((long)(storedRows - 1) * ld) + storedCols)
        {
            ThrowHelper.ThrowArgument($"{name} holds {x.Length} values; a [{storedRows}, {storedCols}] matrix with leading dimension {ld} needs {((long)(storedRows - 1) * ld) + storedCols}.", name);
        }
    }

    private static float[] Buffer(ref float[]? slot, int length)
    {
        if (slot is null || slot.Length < length)
        {
            slot = new float[Math.Max(length, 16)];
        }

        return slot;
    }

    /// <summary>One product, split across workers by 16-column panels or 8-row blocks; reused per calling thread.</summary>
    private sealed unsafe class Work : IParallelWork
    {
        private Transpose _transA, _transB;
        private int _m, _n, _k, _lda, _ldb, _ldc;
        private float _alpha, _beta;
        private float[] _panels = [];
        private float[]? _product;

        public float* A { get; set; }

        public int ALength { get; set; }

        public float* B { get; set; }

        public int BLength { get; set; }

        public float* C { get; set; }

        public int CLength { get; set; }

        /// <summary>Whether this run is the packing phase of a row split.</summary>
        public bool Packing { get; set; }

        /// <summary>
        /// Whether workers split the rows of C (tall products, M ≥ 2N, e.g. dW = dZᵀ·X with M = 4H), so each packs
        /// only its own rows of A and B is packed in a phase of its own first; otherwise they split column panels.
        /// </summary>
        public static bool SplitsRows(int m, int n) => m >= 2 * n;

        public void Set(Transpose transA, Transpose transB, int m, int n, int k, float alpha, float beta, int ldc, float[] panels, float[]? product, int lda, int ldb)
        {
            (_transA, _transB, _m, _n, _k, _alpha, _beta, _ldc, _panels, _product, _lda, _ldb) = (transA, transB, m, n, k, alpha, beta, ldc, panels, product, lda, ldb);
            Packing = false;
        }

        public void Execute(int worker, int workers)
        {
            // Rows in blocks of 8 or 16-column panels (SplitsRows): either way each element is the same FMA chain over k.
            int strips = (_n + Panels.Width - 1) / Panels.Width;
            var b = new ReadOnlySpan<float>(B, BLength);
            if (Packing)
            {
                PackB(_transB, _k, _n, b, _ldb, 0, strips, _k * worker / workers, _k * (worker + 1) / workers, _panels);
                return;
            }

            bool byRows = workers > 1 && SplitsRows(_m, _n);
            int i0 = 0, i1 = _m, j0 = 0, j1 = _n;
            if (byRows)
            {
                int blocks = (_m + 7) / 8;
                i0 = blocks * worker / workers * 8;
                i1 = Math.Min(_m, blocks * (worker + 1) / workers * 8);
            }
            else
            {
                int s0 = strips * worker / workers, s1 = strips * (worker + 1) / workers;
                j0 = s0 * Panels.Width;
                j1 = Math.Min(_n, s1 * Panels.Width);
                PackB(_transB, _k, _n, b, _ldb, s0, s1, 0, _k, _panels);
            }

            if (i0 >= i1 || j0 >= j1)
            {
                return;
            }

            int aRow = _transA == Transpose.No ? _lda : 1;
            int aCol = _transA == Transpose.No ? 1 : _lda;
            int aOffset = i0 * aRow;
            var a = new ReadOnlySpan<float>(A + aOffset, ALength - aOffset);
            var c = new Span<float>(C + ((long)i0 * _ldc), CLength - (i0 * _ldc));
            int rows = i1 - i0;
            if (_product is null)
            {
                MatMul.Multiply(rows, _k, a, aRow, aCol, _panels, j0, j1, c, _ldc, accumulate: false, bias: default);
                return;
            }

            var product = _product.AsSpan(i0 * _n);
            MatMul.Multiply(rows, _k, a, aRow, aCol, _panels, j0, j1, product, _n, accumulate: false, bias: default);
            for (int i = 0; i < rows; i++)
            {
                var p = product.Slice((i * _n) + j0, j1 - j0);
                var row = c.Slice((i * _ldc) + j0, j1 - j0);
                for (int j = 0; j < row.Length; j++)
                {
                    row[j] = _beta == 0f ? _alpha * p[j] : MathF.FusedMultiplyAdd(_alpha, p[j], _beta * row[j]);
                }
            }
        }
    }
}
