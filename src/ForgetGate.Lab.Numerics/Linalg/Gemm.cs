namespace ForgetGate.Lab.Numerics.Linalg;

/// <summary>Single-precision general matrix multiply on row-major spans.</summary>
public static class Gemm
{
    /// <summary>
    /// C[m,n] = alpha · op(A) · op(B) + beta · C, all row-major.
    /// op(A) is [m,k]: A is stored [m,k] (lda ≥ k) or, with <paramref name="transA"/>, [k,m] (lda ≥ m).
    /// op(B) is [k,n]: B is stored [k,n] (ldb ≥ n) or, with <paramref name="transB"/>, [n,k] (ldb ≥ k).
    /// Work is split by output tiles only, so results are bit-identical for any thread count.
    /// When beta is 0, C is not read (NaNs in C do not propagate).
    /// </summary>
    public static void Multiply(
        Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc,
        Threading.ComputePool? pool = null)
    {
        // Placeholder reference implementation; replaced by the packed, blocked kernel.
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float av = transA == Transpose.No ? a[(i * lda) + p] : a[(p * lda) + i];
                    float bv = transB == Transpose.No ? b[(p * ldb) + j] : b[(j * ldb) + p];
                    sum = MathF.FusedMultiplyAdd(av, bv, sum);
                }

                ref float cij = ref c[(i * ldc) + j];
                cij = beta == 0f ? alpha * sum : (alpha * sum) + (beta * cij);
            }
        }
    }
}
