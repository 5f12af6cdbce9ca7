using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// The recurrent network's own products: C[i, n0..n1) = init + Σ_p A(i,p)·B[p, j], with A read through strides
/// (so Aᵀ costs nothing) and B packed in 16-column panels (<see cref="Panels"/>), so the micro-kernel streams B
/// contiguously instead of striding across rows (which thrashes L1 sets when the row length is a power of two).
/// Each C element is one chain of FMAs over p in order, whichever tile computes it, so any split of rows or
/// column panels gives bit-identical results.
/// </summary>
internal static class MatMul
{
    /// <summary>What a tile of C starts from before its FMA chain (the kernels' <c>mode</c>).</summary>
    private enum CInit
    {
        /// <summary>0: a plain product.</summary>
        Zero,

        /// <summary>bias[j]: the layer's input-side bias (b_ih + b_hh permuted; the GRU n block b_in only), folded into x·W_ihᵀ.</summary>
        Bias,

        /// <summary>C itself: the caller's accumulate, and every reduction block after the first.</summary>
        Accumulate,
    }

    /// <summary>Reduction block: a 16-column panel slice of 256 rows is 16 KB and stays in L1.</summary>
    private const int KBlock = 256;
    private const int RowBlock = 8;
    private const int W = Panels.Width;

    /// <summary>
    /// C[i·ldc + j] = init(i,j) + Σ_{p&lt;k} a[i·aRow + p·aCol] · B[p, j] for i &lt; m, n0 ≤ j &lt; n1, with B given
    /// as panels of K = k rows. init is C itself when <paramref name="accumulate"/>, else bias[j] when a bias is
    /// given, else 0. n0 must be a multiple of 16.
    /// </summary>
    public static void Multiply(
        int m, int k, ReadOnlySpan<float> a, int aRow, int aCol,
        ReadOnlySpan<float> panels, int n0, int n1,
        Span<float> c, int ldc, bool accumulate, ReadOnlySpan<float> bias)
    {
        if (m <= 0 || n1 <= n0)
        {
            return;
        }

        if (n0 % W != 0)
        {
            ThrowHelper.ThrowArgument("n0 must be a multiple of the panel width.", nameof(n0));
        }

        if (c.Length < ((m - 1) * ldc) + n1 || (!accumulate && !bias.IsEmpty && bias.Length < n1))
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(c));
        }

        int strips = (n1 + W - 1) / W;
        if (k > 0 && (a.Length < 1 + ((m - 1) * (long)aRow) + ((k - 1) * (long)aCol) || panels.Length < (long)strips * k * W))
        {
            ThrowHelper.ThrowArgument("Operand shorter than the product needs.", nameof(a));
        }

        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(panels);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        ref float bias0 = ref MemoryMarshal.GetReference(bias);
        var mode = accumulate ? CInit.Accumulate : bias.IsEmpty ? CInit.Zero : CInit.Bias;
        if (k == 0)
        {
            InitOnly(m, n0, n1, ref c0, ldc, mode, ref bias0);
            return;
        }

        // A strided along k is packed whole; A contiguous along k is read in place, except for a short last row block,
        // which is packed (zero-padded) so that every tile, edge tiles included, runs the same 8-row kernel.
        bool packA = aCol != 1;
        int fullRows = packA ? m : m - (m % RowBlock);
        Span<float> tile = stackalloc float[(RowBlock * 2 * W) + (2 * W)];
        Span<float> shortBlock = fullRows < m ? stackalloc float[RowBlock * KBlock] : default;
        ref float short0 = ref MemoryMarshal.GetReference(shortBlock);
        int blocks = (m + RowBlock - 1) / RowBlock;
        float[] aPack = packA ? PackBuffer(blocks * RowBlock * Math.Min(k, KBlock)) : [];
        ref float aPack0 = ref MemoryMarshal.GetArrayDataReference(aPack);
        for (int pc = 0; pc < k; pc += KBlock)
        {
            int kc = Math.Min(KBlock, k - pc);
            ref float ap = ref Unsafe.Add(ref a0, (nint)pc * aCol);
            if (packA)
            {
                PackA(kc, m, aRow, aCol, ref ap, ref aPack0);
            }
            else if (fullRows < m)
            {
                PackA(kc, m - fullRows, aRow, aCol, ref Unsafe.Add(ref ap, (nint)fullRows * aRow), ref short0);
            }

            // Panel slices [kc][16] (16 KB each) stay in L1 while every row block streams past them; with 512-bit
            // vectors two adjacent panels are done together (8×32 tile: 16 accumulators, 10 loads per 16 FMAs).
            // Edge tiles (fewer columns or rows) run the same kernel on a staged copy of C.
            bool wide = UseWide;
            for (int j = n0; j < n1;)
            {
                ref float bp = ref Unsafe.Add(ref b0, ((nint)(j / W) * k * W) + ((nint)pc * W));
                bool pair = wide && n1 - j > W;
                int span = pair ? 2 * W : W;
                int width = Math.Min(span, n1 - j);
                ref float bj = ref Unsafe.Add(ref bias0, j);
                for (int i = 0; i < m; i += RowBlock)
                {
                    int rows = Math.Min(RowBlock, m - i);
                    bool packed = packA || i >= fullRows;
                    ref float ai = ref packA ? ref Unsafe.Add(ref aPack0, (nint)i * kc) : ref packed ? ref short0 : ref Unsafe.Add(ref ap, (nint)i * aRow);
                    nint rowStride = packed ? 1 : aRow;
                    nint colStride = packed ? RowBlock : aCol;
                    ref float cij = ref Unsafe.Add(ref c0, ((nint)i * ldc) + j);
                    if (rows < RowBlock || width < span)
                    {
                        Staged(pair, kc, rows, width, ref ai, rowStride, colStride, ref bp, (nint)k * W, ref cij, ldc, mode, ref bj, tile);
                    }
                    else if (pair)
                    {
                        Kernel8x32(kc, ref ai, rowStride, colStride, ref bp, (nint)k * W, ref cij, ldc, mode, ref bj);
                    }
                    else
                    {
                        Kernel8x16(kc, ref ai, rowStride, colStride, ref bp, ref cij, ldc, mode, ref bj);
                    }
                }

                j += span;
            }

            // Later reduction blocks add to the partial sums the first block left in C.
            mode = CInit.Accumulate;
        }
    }

    /// <summary>
    /// Whether the 8×32 AVX-512 tile is used. The runtime reports Vector512 as not accelerated on Intel parts that may
    /// lower their clock under 512-bit load (this Cascade Lake among them), but the ISA is there and, measured here,
    /// 512-bit FMA doubles the peak (282 vs 125 GFLOP/s on 2 cores) with no visible throttling, so the tile follows the
    /// ISA. FORGETGATE_VECTOR_BITS=256 turns it off. Results do not change: each element's FMA chain is the same.
    /// </summary>
    internal static readonly bool UseWide = Avx512F.IsSupported && Environment.GetEnvironmentVariable("FORGETGATE_VECTOR_BITS") != "256";

    [ThreadStatic]
    private static float[]? t_aPack;

    /// <summary>Per-thread scratch for packed A; grows during warm-up only.</summary>
    private static float[] PackBuffer(int length)
    {
        var buffer = t_aPack;
        if (buffer is null || buffer.Length < length)
        {
            buffer = new float[length];
            t_aPack = buffer;
        }

        return buffer;
    }

    /// <summary>Packs rows [0, m) × [0, kc) of A (starting at <paramref name="ap"/>) as row blocks of [kc][8] values, a short last block zero-padded.</summary>
    private static void PackA(int kc, int m, int aRow, int aCol, ref float ap, ref float dst0)
    {
        for (int i = 0; i < m; i += RowBlock)
        {
            int rows = Math.Min(RowBlock, m - i);
            ref float src = ref Unsafe.Add(ref ap, (nint)i * aRow);
            ref float dst = ref Unsafe.Add(ref dst0, (nint)i * kc);
            if (aRow == 1 && rows == RowBlock)
            {
                // Row block of 8 = one 8-wide copy per step.
                for (int p = 0; p < kc; p++)
                {
                    Vector256.LoadUnsafe(ref Unsafe.Add(ref src, (nint)p * aCol)).StoreUnsafe(ref Unsafe.Add(ref dst, p * RowBlock));
                }
            }
            else
            {
                // Zero the block (the padding rows), then scatter the rows there are, each walked along k.
                MemoryMarshal.CreateSpan(ref dst, kc * RowBlock).Clear();
                for (int r = 0; r < rows; r++)
                {
                    ref float from = ref Unsafe.Add(ref src, (nint)r * aRow);
                    for (int p = 0; p < kc; p++)
                    {
                        Unsafe.Add(ref dst, (p * RowBlock) + r) = Unsafe.Add(ref from, (nint)p * aCol);
                    }
                }
            }
        }
    }

    /// <summary>An edge tile through the full 8×16 or 8×32 kernel: C (or the bias) staged in a padded tile, then copied back.</summary>
    private static void Staged(bool pair, int kc, int rows, int width, ref float a, nint aRow, nint aCol, ref float b, nint panelStride, ref float c, int ldc, CInit mode, ref float bias, Span<float> tile)
    {
        const int Ld = 2 * W;
        ref float t0 = ref MemoryMarshal.GetReference(tile);
        ref float tb = ref Unsafe.Add(ref t0, RowBlock * Ld);
        if (mode == CInit.Accumulate)
        {
            for (int r = 0; r < rows; r++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref c, (nint)r * ldc), width).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref t0, r * Ld), width));
            }
        }
        else if (mode == CInit.Bias)
        {
            var staged = MemoryMarshal.CreateSpan(ref tb, Ld);
            staged.Clear();
            MemoryMarshal.CreateReadOnlySpan(ref bias, width).CopyTo(staged);
        }

        if (pair)
        {
            Kernel8x32(kc, ref a, aRow, aCol, ref b, panelStride, ref t0, Ld, mode, ref tb);
        }
        else
        {
            Kernel8x16(kc, ref a, aRow, aCol, ref b, ref t0, Ld, mode, ref tb);
        }

        for (int r = 0; r < rows; r++)
        {
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref t0, r * Ld), width).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, (nint)r * ldc), width));
        }
    }

    private static void InitOnly(int m, int n0, int n1, ref float c0, int ldc, CInit mode, ref float bias0)
    {
        if (mode == CInit.Accumulate)
        {
            return;
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = n0; j < n1; j++)
            {
                Unsafe.Add(ref c0, ((nint)i * ldc) + j) = mode == CInit.Bias ? Unsafe.Add(ref bias0, j) : 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Init(CInit mode, ref float c, ref float bias, out Vector256<float> lo, out Vector256<float> hi)
    {
        if (mode == CInit.Accumulate)
        {
            lo = Vector256.LoadUnsafe(ref c);
            hi = Vector256.LoadUnsafe(ref c, 8);
        }
        else if (mode == CInit.Bias)
        {
            lo = Vector256.LoadUnsafe(ref bias);
            hi = Vector256.LoadUnsafe(ref bias, 8);
        }
        else
        {
            lo = Vector256<float>.Zero;
            hi = Vector256<float>.Zero;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Init512(CInit mode, ref float c, ref float bias, out Vector512<float> v)
    {
        v = mode == CInit.Accumulate ? Vector512.LoadUnsafe(ref c) : mode == CInit.Bias ? Vector512.LoadUnsafe(ref bias) : Vector512<float>.Zero;
    }

    private static void Kernel8x32(int kc, ref float a, nint aRow, nint aCol, ref float b, nint panelStride, ref float c, nint ldc, CInit mode, ref float bias)
    {
        ref float biasHi = ref Unsafe.Add(ref bias, W);
        Init512(mode, ref c, ref bias, out var c00);
        Init512(mode, ref Unsafe.Add(ref c, W), ref biasHi, out var c01);
        Init512(mode, ref Unsafe.Add(ref c, ldc), ref bias, out var c10);
        Init512(mode, ref Unsafe.Add(ref c, ldc + W), ref biasHi, out var c11);
        Init512(mode, ref Unsafe.Add(ref c, 2 * ldc), ref bias, out var c20);
        Init512(mode, ref Unsafe.Add(ref c, (2 * ldc) + W), ref biasHi, out var c21);
        Init512(mode, ref Unsafe.Add(ref c, 3 * ldc), ref bias, out var c30);
        Init512(mode, ref Unsafe.Add(ref c, (3 * ldc) + W), ref biasHi, out var c31);
        Init512(mode, ref Unsafe.Add(ref c, 4 * ldc), ref bias, out var c40);
        Init512(mode, ref Unsafe.Add(ref c, (4 * ldc) + W), ref biasHi, out var c41);
        Init512(mode, ref Unsafe.Add(ref c, 5 * ldc), ref bias, out var c50);
        Init512(mode, ref Unsafe.Add(ref c, (5 * ldc) + W), ref biasHi, out var c51);
        Init512(mode, ref Unsafe.Add(ref c, 6 * ldc), ref bias, out var c60);
        Init512(mode, ref Unsafe.Add(ref c, (6 * ldc) + W), ref biasHi, out var c61);
        Init512(mode, ref Unsafe.Add(ref c, 7 * ldc), ref bias, out var c70);
        Init512(mode, ref Unsafe.Add(ref c, (7 * ldc) + W), ref biasHi, out var c71);
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, (nuint)panelStride);
            var av = Vector512.Create(ap);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(Unsafe.Add(ref ap, aRow));
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(Unsafe.Add(ref ap, 2 * aRow));
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(Unsafe.Add(ref ap, 3 * aRow));
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(Unsafe.Add(ref ap, 4 * aRow));
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(Unsafe.Add(ref ap, 5 * aRow));
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(Unsafe.Add(ref ap, 6 * aRow));
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(Unsafe.Add(ref ap, 7 * aRow));
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            ap = ref Unsafe.Add(ref ap, aCol);
            bp = ref Unsafe.Add(ref bp, W);
        }

        c00.StoreUnsafe(ref c);
        c01.StoreUnsafe(ref c, W);
        c10.StoreUnsafe(ref Unsafe.Add(ref c, ldc));
        c11.StoreUnsafe(ref Unsafe.Add(ref c, ldc), W);
        c20.StoreUnsafe(ref Unsafe.Add(ref c, 2 * ldc));
        c21.StoreUnsafe(ref Unsafe.Add(ref c, 2 * ldc), W);
        c30.StoreUnsafe(ref Unsafe.Add(ref c, 3 * ldc));
        c31.StoreUnsafe(ref Unsafe.Add(ref c, 3 * ldc), W);
        c40.StoreUnsafe(ref Unsafe.Add(ref c, 4 * ldc));
        c41.StoreUnsafe(ref Unsafe.Add(ref c, 4 * ldc), W);
        c50.StoreUnsafe(ref Unsafe.Add(ref c, 5 * ldc));
        c51.StoreUnsafe(ref Unsafe.Add(ref c, 5 * ldc), W);
        c60.StoreUnsafe(ref Unsafe.Add(ref c, 6 * ldc));
        c61.StoreUnsafe(ref Unsafe.Add(ref c, 6 * ldc), W);
        c70.StoreUnsafe(ref Unsafe.Add(ref c, 7 * ldc));
        c71.StoreUnsafe(ref Unsafe.Add(ref c, 7 * ldc), W);
    }

    private static void Kernel8x16(int kc, ref float a, nint aRow, nint aCol, ref float b, ref float c, nint ldc, CInit mode, ref float bias)
    {
        // 8 rows × 16 columns as 16 Vector256 accumulators (uses ymm16–31 where AVX-512VL exists).
        Init(mode, ref c, ref bias, out var c00, out var c01);
        Init(mode, ref Unsafe.Add(ref c, ldc), ref bias, out var c10, out var c11);
        Init(mode, ref Unsafe.Add(ref c, 2 * ldc), ref bias, out var c20, out var c21);
        Init(mode, ref Unsafe.Add(ref c, 3 * ldc), ref bias, out var c30, out var c31);
        Init(mode, ref Unsafe.Add(ref c, 4 * ldc), ref bias, out var c40, out var c41);
        Init(mode, ref Unsafe.Add(ref c, 5 * ldc), ref bias, out var c50, out var c51);
        Init(mode, ref Unsafe.Add(ref c, 6 * ldc), ref bias, out var c60, out var c61);
        Init(mode, ref Unsafe.Add(ref c, 7 * ldc), ref bias, out var c70, out var c71);
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = Vector256.LoadUnsafe(ref bp, 8);
            var av = Vector256.Create(ap);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref ap, aRow));
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref ap, 2 * aRow));
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref ap, 3 * aRow));
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(Unsafe.Add(ref ap, 4 * aRow));
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref ap, 5 * aRow));
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            av = Vector256.Create(Unsafe.Add(ref ap, 6 * aRow));
            c60 = Vector256.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector256.FusedMultiplyAdd(av, b1, c61);
            av = Vector256.Create(Unsafe.Add(ref ap, 7 * aRow));
            c70 = Vector256.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector256.FusedMultiplyAdd(av, b1, c71);
            ap = ref Unsafe.Add(ref ap, aCol);
            bp = ref Unsafe.Add(ref bp, W);
        }

        c00.StoreUnsafe(ref c);
        c01.StoreUnsafe(ref c, 8);
        c10.StoreUnsafe(ref Unsafe.Add(ref c, ldc));
        c11.StoreUnsafe(ref Unsafe.Add(ref c, ldc), 8);
        c20.StoreUnsafe(ref Unsafe.Add(ref c, 2 * ldc));
        c21.StoreUnsafe(ref Unsafe.Add(ref c, 2 * ldc), 8);
        c30.StoreUnsafe(ref Unsafe.Add(ref c, 3 * ldc));
        c31.StoreUnsafe(ref Unsafe.Add(ref c, 3 * ldc), 8);
        c40.StoreUnsafe(ref Unsafe.Add(ref c, 4 * ldc));
        c41.StoreUnsafe(ref Unsafe.Add(ref c, 4 * ldc), 8);
        c50.StoreUnsafe(ref Unsafe.Add(ref c, 5 * ldc));
        c51.StoreUnsafe(ref Unsafe.Add(ref c, 5 * ldc), 8);
        c60.StoreUnsafe(ref Unsafe.Add(ref c, 6 * ldc));
        c61.StoreUnsafe(ref Unsafe.Add(ref c, 6 * ldc), 8);
        c70.StoreUnsafe(ref Unsafe.Add(ref c, 7 * ldc));
        c71.StoreUnsafe(ref Unsafe.Add(ref c, 7 * ldc), 8);
    }
}
