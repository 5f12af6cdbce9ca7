using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// <summary>Reduction block: a 16-column panel slice of 256 rows is 16 KB and stays in L1.</summary>
    private const int KBlock = 256;
    private const int RowBlock = 6;
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
        int mode = accumulate ? 2 : bias.IsEmpty ? 0 : 1;
        if (k == 0)
        {
            InitOnly(m, n0, n1, ref c0, ldc, mode, ref bias0);
            return;
        }

        bool packA = aCol != 1;
        Span<float> aPack = stackalloc float[packA ? (RowBlock * KBlock) + 8 : 0];
        Span<float> tail = stackalloc float[(RowBlock * W) + W];
        ref float aPack0 = ref MemoryMarshal.GetReference(aPack);
        for (int pc = 0; pc < k; pc += KBlock)
        {
            int kc = Math.Min(KBlock, k - pc);
            ref float ap = ref Unsafe.Add(ref a0, (nint)pc * aCol);
            for (int i = 0; i < m; i += RowBlock)
            {
                int rows = Math.Min(RowBlock, m - i);
                ref float src = ref Unsafe.Add(ref ap, (nint)i * aRow);
                if (packA && aRow == 1 && rows == RowBlock
                    && a.Length >= ((long)i + 8) + ((long)(pc + kc - 1) * aCol))
                {
                    // [kc][6] contiguous via 8-wide copies; each store's two extra lanes are overwritten by the next.
                    for (int p = 0; p < kc; p++)
                    {
                        Vector256.LoadUnsafe(ref Unsafe.Add(ref src, (nint)p * aCol)).StoreUnsafe(ref Unsafe.Add(ref aPack0, p * RowBlock));
                    }
                }
                else if (packA)
                {
                    // [kc][6] contiguous: one cache line feeds all six broadcasts of a step.
                    for (int p = 0; p < kc; p++)
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            Unsafe.Add(ref aPack0, (p * RowBlock) + r) = Unsafe.Add(ref src, ((nint)r * aRow) + ((nint)p * aCol));
                        }
                    }
                }

                ref float ai = ref packA ? ref aPack0 : ref src;
                nint rowStride = packA ? 1 : aRow;
                nint colStride = packA ? RowBlock : aCol;

                for (int j = n0; j < n1; j += W)
                {
                    ref float bp = ref Unsafe.Add(ref b0, ((nint)(j / W) * k * W) + ((nint)pc * W));
                    int width = Math.Min(W, n1 - j);
                    ref float cij = ref Unsafe.Add(ref c0, ((nint)i * ldc) + j);
                    ref float bj = ref Unsafe.Add(ref bias0, j);
                    if (width == W && rows == RowBlock)
                    {
                        Kernel6x16(kc, ref ai, rowStride, colStride, ref bp, ref cij, ldc, mode, ref bj);
                    }
                    else
                    {
                        Partial(kc, rows, width, ref ai, rowStride, colStride, ref bp, ref cij, ldc, mode, ref bj, tail);
                    }
                }
            }

            mode = 2;
        }
    }

    private static void Partial(int kc, int rows, int width, ref float a, nint aRow, nint aCol, ref float b, ref float c, int ldc, int mode, ref float bias, Span<float> tail)
    {
        // Edge tile: stage C (and the bias) in a 6×16 buffer so the full kernel runs on padded lanes.
        ref float t0 = ref MemoryMarshal.GetReference(tail);
        ref float tb = ref Unsafe.Add(ref t0, RowBlock * W);
        tail.Clear();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < width; j++)
            {
                if (mode == 2)
                {
                    Unsafe.Add(ref t0, (r * W) + j) = Unsafe.Add(ref c, ((nint)r * ldc) + j);
                }
            }
        }

        if (mode == 1)
        {
            for (int j = 0; j < width; j++)
            {
                Unsafe.Add(ref tb, j) = Unsafe.Add(ref bias, j);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            Kernel1x16(kc, ref Unsafe.Add(ref a, r * aRow), aCol, ref b, ref Unsafe.Add(ref t0, r * W), mode, ref tb);
        }

        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < width; j++)
            {
                Unsafe.Add(ref c, ((nint)r * ldc) + j) = Unsafe.Add(ref t0, (r * W) + j);
            }
        }
    }

    private static void InitOnly(int m, int n0, int n1, ref float c0, int ldc, int mode, ref float bias0)
    {
        if (mode == 2)
        {
            return;
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = n0; j < n1; j++)
            {
                Unsafe.Add(ref c0, ((nint)i * ldc) + j) = mode == 1 ? Unsafe.Add(ref bias0, j) : 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Init(int mode, ref float c, ref float bias, out Vector256<float> lo, out Vector256<float> hi)
    {
        if (mode == 2)
        {
            lo = Vector256.LoadUnsafe(ref c);
            hi = Vector256.LoadUnsafe(ref c, 8);
        }
        else if (mode == 1)
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

    private static void Kernel6x16(int kc, ref float a, nint aRow, nint aCol, ref float b, ref float c, nint ldc, int mode, ref float bias)
    {
        Init(mode, ref c, ref bias, out var c00, out var c01);
        Init(mode, ref Unsafe.Add(ref c, ldc), ref bias, out var c10, out var c11);
        Init(mode, ref Unsafe.Add(ref c, 2 * ldc), ref bias, out var c20, out var c21);
        Init(mode, ref Unsafe.Add(ref c, 3 * ldc), ref bias, out var c30, out var c31);
        Init(mode, ref Unsafe.Add(ref c, 4 * ldc), ref bias, out var c40, out var c41);
        Init(mode, ref Unsafe.Add(ref c, 5 * ldc), ref bias, out var c50, out var c51);
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
    }

    private static void Kernel1x16(int kc, ref float a, nint aCol, ref float b, ref float c, int mode, ref float bias)
    {
        Init(mode, ref c, ref bias, out var c00, out var c01);
        ref float bp = ref b;
        for (int p = 0; p < kc; p++)
        {
            var av = Vector256.Create(Unsafe.Add(ref a, p * aCol));
            c00 = Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref bp), c00);
            c01 = Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref bp, 8), c01);
            bp = ref Unsafe.Add(ref bp, W);
        }

        c00.StoreUnsafe(ref c);
        c01.StoreUnsafe(ref c, 8);
    }
}
