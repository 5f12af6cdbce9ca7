using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// The recurrent network's own products: C[i, n0..n1) = init + Σ_p A(i,p)·B[p, j], with A read through
/// strides (so Aᵀ costs nothing) and B row-major. Each C element is one chain of FMAs over p in order,
/// whichever tile computes it, so any split of rows or columns gives bit-identical results.
/// </summary>
internal static class MatMul
{
    private const int KBlock = 256;
    private const int RowBlock = 6;

    /// <summary>
    /// C[i·ldc + j] = init(i,j) + Σ_{p&lt;k} a[i·aRow + p·aCol] · b[p·ldb + j] for i &lt; m, n0 ≤ j &lt; n1.
    /// init is C itself when <paramref name="accumulate"/>, else bias[j] when a bias is given, else 0.
    /// </summary>
    public static void Multiply(
        int m, int k, ReadOnlySpan<float> a, int aRow, int aCol,
        ReadOnlySpan<float> b, int ldb, int n0, int n1,
        Span<float> c, int ldc, bool accumulate, ReadOnlySpan<float> bias)
    {
        if (m <= 0 || n1 <= n0)
        {
            return;
        }

        if (c.Length < ((m - 1) * ldc) + n1 || (!accumulate && !bias.IsEmpty && bias.Length < n1))
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(c));
        }

        if (k > 0 && (a.Length < 1 + ((m - 1) * (long)aRow) + ((k - 1) * (long)aCol) || b.Length < ((k - 1) * ldb) + n1))
        {
            ThrowHelper.ThrowArgument("Operand shorter than the product needs.", nameof(a));
        }

        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        ref float bias0 = ref MemoryMarshal.GetReference(bias);
        int mode = accumulate ? 2 : bias.IsEmpty ? 0 : 1;
        if (k == 0)
        {
            InitOnly(m, n0, n1, ref c0, ldc, mode, ref bias0);
            return;
        }

        for (int pc = 0; pc < k; pc += KBlock)
        {
            int kc = Math.Min(KBlock, k - pc);
            ref float ap = ref Unsafe.Add(ref a0, (nint)pc * aCol);
            ref float bp = ref Unsafe.Add(ref b0, (nint)pc * ldb);
            int j = n0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 16 <= n1; j += 16)
                {
                    int i = 0;
                    for (; i + RowBlock <= m; i += RowBlock)
                    {
                        Kernel6x16(kc, ref Unsafe.Add(ref ap, (nint)i * aRow), aRow, aCol, ref Unsafe.Add(ref bp, j), ldb,
                            ref Unsafe.Add(ref c0, ((nint)i * ldc) + j), ldc, mode, ref Unsafe.Add(ref bias0, j));
                    }

                    for (; i < m; i++)
                    {
                        Kernel1x16(kc, ref Unsafe.Add(ref ap, (nint)i * aRow), aCol, ref Unsafe.Add(ref bp, j), ldb,
                            ref Unsafe.Add(ref c0, ((nint)i * ldc) + j), mode, ref Unsafe.Add(ref bias0, j));
                    }
                }
            }

            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref ap, (nint)i * aRow);
                for (int jj = j; jj < n1; jj++)
                {
                    ref float cij = ref Unsafe.Add(ref c0, ((nint)i * ldc) + jj);
                    float sum = mode == 2 ? cij : mode == 1 ? Unsafe.Add(ref bias0, jj) : 0f;
                    for (int p = 0; p < kc; p++)
                    {
                        sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, (nint)p * aCol), Unsafe.Add(ref bp, ((nint)p * ldb) + jj), sum);
                    }

                    cij = sum;
                }
            }

            mode = 2;
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

    private static void Kernel6x16(int kc, ref float a, nint aRow, nint aCol, ref float b, nint ldb, ref float c, nint ldc, int mode, ref float bias)
    {
        Init(mode, ref c, ref bias, out var c00, out var c01);
        Init(mode, ref Unsafe.Add(ref c, ldc), ref bias, out var c10, out var c11);
        Init(mode, ref Unsafe.Add(ref c, 2 * ldc), ref bias, out var c20, out var c21);
        Init(mode, ref Unsafe.Add(ref c, 3 * ldc), ref bias, out var c30, out var c31);
        Init(mode, ref Unsafe.Add(ref c, 4 * ldc), ref bias, out var c40, out var c41);
        Init(mode, ref Unsafe.Add(ref c, 5 * ldc), ref bias, out var c50, out var c51);
        for (int p = 0; p < kc; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, p * ldb);
            var b0 = Vector256.LoadUnsafe(ref bp);
            var b1 = Vector256.LoadUnsafe(ref bp, 8);
            ref float ap = ref Unsafe.Add(ref a, p * aCol);
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

    private static void Kernel1x16(int kc, ref float a, nint aCol, ref float b, nint ldb, ref float c, int mode, ref float bias)
    {
        Init(mode, ref c, ref bias, out var c00, out var c01);
        for (int p = 0; p < kc; p++)
        {
            ref float bp = ref Unsafe.Add(ref b, p * ldb);
            var av = Vector256.Create(Unsafe.Add(ref a, p * aCol));
            c00 = Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref bp), c00);
            c01 = Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref bp, 8), c01);
        }

        c00.StoreUnsafe(ref c);
        c01.StoreUnsafe(ref c, 8);
    }
}
