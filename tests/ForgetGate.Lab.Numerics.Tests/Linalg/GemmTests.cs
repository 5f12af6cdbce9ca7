using ForgetGate.Lab.Numerics.Linalg;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Linalg;

public sealed class GemmTests
{
    private static readonly Transpose[] s_cases = [Transpose.No, Transpose.Yes];

    public static TheoryData<Transpose, Transpose, int> Sweeps()
    {
        var data = new TheoryData<Transpose, Transpose, int>();
        foreach (var ta in s_cases)
        {
            foreach (var tb in s_cases)
            {
                for (int dim = 0; dim < 3; dim++)
                {
                    data.Add(ta, tb, dim);
                }
            }
        }

        return data;
    }

    private static float[] Random(int length, int seed, int extra = 0)
    {
        var rng = new System.Random(seed);
        var x = new float[length + extra];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }

    /// <summary>
    /// Checks C against a float64 reference. A float32 FMA chain of length k has error at most about
    /// k·2⁻²⁴·Σ|a||b| (plus the alpha/beta step); the bound used is twice that, relative to Σ|a||b| + |beta·c|.
    /// </summary>
    private static void Check(Transpose ta, Transpose tb, int m, int n, int k, float alpha, float beta, int pad, int threads = 1)
    {
        int lda = (ta == Transpose.No ? k : m) + pad, ldb = (tb == Transpose.No ? n : k) + pad, ldc = n + pad;
        var a = Random(Math.Max(0, ((ta == Transpose.No ? m : k) * lda)), m * 131 + k);
        var b = Random(Math.Max(0, ((tb == Transpose.No ? k : n) * ldb)), n * 71 + k + 1);
        var c = Random(Math.Max(0, m * ldc), 5);
        if (beta == 0f)
        {
            Array.Fill(c, float.NaN); // beta = 0 must not read C
        }

        var c0 = (float[])c.Clone();
        using var pool = new ComputePool(threads);
        Gemm.Multiply(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pool);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, magnitude = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta == Transpose.No ? a[(i * lda) + p] : a[(p * lda) + i];
                    double bv = tb == Transpose.No ? b[(p * ldb) + j] : b[(j * ldb) + p];
                    sum += av * bv;
                    magnitude += Math.Abs(av * bv);
                }

                double prior = beta == 0f ? 0 : beta * (double)c0[(i * ldc) + j];
                double expected = (alpha * sum) + prior;
                double bound = (2 * (k + 2) * Math.Pow(2, -24) * ((Math.Abs(alpha) * magnitude) + Math.Abs(prior))) + 1e-30;
                double actual = c[(i * ldc) + j];
                Assert.True(Math.Abs(actual - expected) <= bound, $"{ta}{tb} m={m} n={n} k={k} C[{i},{j}] = {actual}, expected {expected} ± {bound}");
            }

            for (int j = n; j < ldc && pad > 0; j++)
            {
                Assert.Equal(c0[(i * ldc) + j], c[(i * ldc) + j]); // padding untouched
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sweeps))]
    public void Multiply_EverySizeZeroTo70_MatchesFloat64Reference(Transpose ta, Transpose tb, int dim)
    {
        // Sweep one dimension through 0..70 while the other two take values around the 8- and 16-wide tiles.
        int[] others = [1, 17, 40];
        for (int s = 0; s <= 70; s++)
        {
            int o1 = others[s % 3], o2 = others[(s / 3) % 3];
            var (m, n, k) = dim switch { 0 => (s, o1, o2), 1 => (o1, s, o2), _ => (o1, o2, s) };
            Check(ta, tb, m, n, k, 1f, 0f, pad: 0);
        }
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(-0.5f, 2f)]
    [InlineData(2f, 0f)]
    [InlineData(0f, 0.5f)]
    public void Multiply_AlphaBetaAndStrides_MatchReference(float alpha, float beta)
    {
        foreach (var ta in s_cases)
        {
            foreach (var tb in s_cases)
            {
                Check(ta, tb, 37, 45, 29, alpha, beta, pad: 3);
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Multiply_ThreadCounts_BitIdentical(int threads)
    {
        var a = Random(96 * 130, 1);
        var b = Random(130 * 200, 2);
        var one = new float[96 * 200];
        var many = new float[96 * 200];
        Gemm.Multiply(Transpose.No, Transpose.No, 96, 200, 130, 1f, a, 130, b, 200, 0f, one, 200);
        using var pool = new ComputePool(threads);
        Gemm.Multiply(Transpose.No, Transpose.No, 96, 200, 130, 1f, a, 130, b, 200, 0f, many, 200, pool);
        Assert.Equal(one, many);
        Check(Transpose.Yes, Transpose.No, 64, 100, 80, 1f, 0f, 0, threads);

        // Tall products (M ≥ 2N) split rows instead of column panels: also bit-identical, also with alpha/beta.
        var at = Random(203 * 90, 3);
        var bt = Random(90 * 37, 4);
        var tallOne = Random(203 * 37, 5);
        var tallMany = (float[])tallOne.Clone();
        Gemm.Multiply(Transpose.Yes, Transpose.No, 203, 37, 90, 0.5f, at, 203, bt, 37, 2f, tallOne, 37);
        Gemm.Multiply(Transpose.Yes, Transpose.No, 203, 37, 90, 0.5f, at, 203, bt, 37, 2f, tallMany, 37, pool);
        Assert.Equal(tallOne, tallMany);
        Check(Transpose.Yes, Transpose.No, 203, 37, 90, 1f, 0f, 0, threads);
        Check(Transpose.No, Transpose.Yes, 150, 20, 33, -1f, 0.5f, 2, threads);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Multiply_EveryTransposeCaseAndSplit_BitIdenticalAcrossThreads(int threads)
    {
        // Each worker packs its own panels of op(B) in a column split (wide C); a row split (tall C) packs op(B) in
        // a phase of its own first. Shapes cover both splits, edge panels (n mod 16 ≠ 0, n mod 32 > 16), short row
        // blocks and k beyond one reduction block (256), in all four transpose cases.
        (int M, int N, int K)[] shapes = [(40, 150, 70), (203, 37, 90), (9, 49, 300), (130, 28, 61), (64, 512, 128)];
        using var pool = new ComputePool(threads);
        foreach (var ta in s_cases)
        {
            foreach (var tb in s_cases)
            {
                foreach (var (m, n, k) in shapes)
                {
                    int lda = ta == Transpose.No ? k : m, ldb = tb == Transpose.No ? n : k;
                    var a = Random(m * k, m + k);
                    var b = Random(k * n, n + k);
                    var one = new float[m * n];
                    var many = new float[m * n];
                    Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, one, n);
                    Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, many, n, pool);
                    Assert.True(one.AsSpan().SequenceEqual(many), $"{ta}{tb} {m}×{n}×{k} differs between 1 and {threads} threads");
                    Check(ta, tb, m, n, k, 1f, 0f, pad: 2, threads);
                }
            }
        }
    }

    [Fact]
    public void Multiply_ShortOperands_NameTheParameter()
    {
        var ok = new float[16];
        Assert.Equal("a", Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f, new float[15], 4, ok, 4, 0f, new float[16], 4)).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.Yes, 4, 4, 4, 1f, ok, 4, new float[12], 4, 0f, new float[16], 4)).ParamName);
        Assert.Equal("c", Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f, ok, 4, ok, 4, 0f, new float[15], 4)).ParamName);
        Assert.Equal("lda", Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f, ok, 3, ok, 4, 0f, new float[16], 4)).ParamName);
    }

    [Fact]
    public void PackedMatrix_ColumnRanges_EqualTheFullProduct()
    {
        const int M = 20, K = 33, N = 70;
        var a = Random(M * K, 3);
        var b = Random(N * K, 4); // W [N, K], used transposed like W_hhᵀ
        var full = new float[M * N];
        Gemm.Multiply(Transpose.No, Transpose.Yes, M, N, K, 1f, a, K, b, K, 0f, full, N);
        var packed = new PackedMatrix();
        packed.Pack(Transpose.Yes, K, N, b, K);
        var pieces = new float[M * N];
        foreach (var (start, count) in new[] { (0, 16), (16, 21), (37, 33) })
        {
            packed.Multiply(Transpose.No, M, a, K, start, count, 0f, pieces, N);
        }

        Assert.Equal(full, pieces);
        packed.Multiply(Transpose.No, M, a, K, 5, 10, 1f, pieces, N); // beta = 1 adds the product once more
        for (int i = 0; i < M; i++)
        {
            for (int j = 5; j < 15; j++)
            {
                Assert.Equal(MathF.FusedMultiplyAdd(1f, full[(i * N) + j], full[(i * N) + j]), pieces[(i * N) + j]);
            }
        }
    }
}
