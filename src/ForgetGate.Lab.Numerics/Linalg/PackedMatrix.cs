namespace ForgetGate.Lab.Numerics.Linalg;

/// <summary>
/// The B operand of a GEMM packed once (e.g. W_hhᵀ per weight update) and reused for many products,
/// such as the T recurrent steps of a sequence. Columns can be computed in ranges so that each worker
/// of a pool owns a slice of the output (e.g. half the hidden units).
/// </summary>
public sealed class PackedMatrix
{
    private float[] _data = [];

    /// <summary>Rows of op(B) (the reduction length).</summary>
    public int K { get; private set; }

    /// <summary>Columns of op(B).</summary>
    public int N { get; private set; }

    /// <summary>Packs op(B) [k,n] from row-major B ([k,n], or [n,k] with <paramref name="transB"/>). Reuses storage when the size fits.</summary>
    public void Pack(Transpose transB, int k, int n, ReadOnlySpan<float> b, int ldb)
    {
        K = k;
        N = n;
        if (_data.Length < k * n)
        {
            _data = new float[k * n];
        }

        for (int p = 0; p < k; p++)
        {
            for (int j = 0; j < n; j++)
            {
                _data[(p * n) + j] = transB == Transpose.No ? b[(p * ldb) + j] : b[(j * ldb) + p];
            }
        }
    }

    /// <summary>
    /// C[m, nStart..nStart+nCount) = op(A)[m,K] · op(B)[:, nStart..nStart+nCount) + beta · C, on the calling thread only.
    /// </summary>
    public void Multiply(Transpose transA, int m, ReadOnlySpan<float> a, int lda, int nStart, int nCount, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = nStart; j < nStart + nCount; j++)
            {
                float sum = 0f;
                for (int p = 0; p < K; p++)
                {
                    float av = transA == Transpose.No ? a[(i * lda) + p] : a[(p * lda) + i];
                    sum = MathF.FusedMultiplyAdd(av, _data[(p * N) + j], sum);
                }

                ref float cij = ref c[(i * ldc) + j];
                cij = beta == 0f ? sum : sum + (beta * cij);
            }
        }
    }
}
