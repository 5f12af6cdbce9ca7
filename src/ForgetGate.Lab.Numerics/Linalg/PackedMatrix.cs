using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Linalg;

/// <summary>
/// The B operand of a GEMM packed once (e.g. W_hhᵀ per weight update) into 16-column panels and reused for many
/// products, such as the T recurrent steps of a sequence. Columns can be computed in ranges so that each worker
/// of a pool owns a slice of the output; any split gives bit-identical results.
/// </summary>
public sealed class PackedMatrix
{
    [ThreadStatic]
    private static float[]? t_scratch;

    private float[] _panels = [];

    /// <summary>Rows of op(B) (the reduction length).</summary>
    public int K { get; private set; }

    /// <summary>Columns of op(B).</summary>
    public int N { get; private set; }

    /// <summary>Packs op(B) [k,n] from row-major B ([k,n], or [n,k] with <paramref name="transB"/>). Reuses storage when the size fits.</summary>
    public void Pack(Transpose transB, int k, int n, ReadOnlySpan<float> b, int ldb)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        int length = Panels.Length(k, n);
        if (_panels.Length < length)
        {
            _panels = new float[length];
        }

        if (k > 0 && n > 0)
        {
            long need = transB == Transpose.No ? ((long)(k - 1) * ldb) + n : ((long)(n - 1) * ldb) + k;
            if (b.Length < need || ldb < (transB == Transpose.No ? n : k))
            {
                ThrowHelper.ThrowArgument($"b holds {b.Length} values with ldb {ldb}; op(B) [{k}, {n}] needs {need}.", nameof(b));
            }

            Gemm.PackB(transB, k, n, b, ldb, _panels);
        }

        K = k;
        N = n;
    }

    /// <summary>
    /// C[m, nStart..nStart+nCount) = op(A)[m,K] · op(B)[:, nStart..nStart+nCount) + beta · C, on the calling thread only.
    /// </summary>
    public void Multiply(Transpose transA, int m, ReadOnlySpan<float> a, int lda, int nStart, int nCount, float beta, Span<float> c, int ldc)
    {
        if (nStart < 0 || nCount < 0 || nStart + nCount > N)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(nStart), nStart, $"Columns [{nStart}, {nStart + nCount}) are outside [0, {N}).");
        }

        if (m <= 0 || nCount == 0)
        {
            return;
        }

        if (c.Length < ((long)(m - 1) * ldc) + nStart + nCount)
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(c));
        }

        int aRow = transA == Transpose.No ? lda : 1;
        int aCol = transA == Transpose.No ? 1 : lda;
        int n0 = nStart - (nStart % Panels.Width), n1 = nStart + nCount;
        if (n0 == nStart && beta == 0f)
        {
            MatMul.Multiply(m, K, a, aRow, aCol, _panels, n0, n1, c, ldc, accumulate: false, bias: default);
            return;
        }

        // Unaligned start or beta ≠ 0: the product goes to scratch first, then into C.
        var scratch = t_scratch;
        if (scratch is null || scratch.Length < m * n1)
        {
            scratch = t_scratch = new float[m * n1];
        }

        MatMul.Multiply(m, K, a, aRow, aCol, _panels, n0, n1, scratch, n1, accumulate: false, bias: default);
        for (int i = 0; i < m; i++)
        {
            var p = scratch.AsSpan((i * n1) + nStart, nCount);
            var row = c.Slice((i * ldc) + nStart, nCount);
            for (int j = 0; j < nCount; j++)
            {
                row[j] = beta == 0f ? p[j] : MathF.FusedMultiplyAdd(beta, row[j], p[j]);
            }
        }
    }
}
