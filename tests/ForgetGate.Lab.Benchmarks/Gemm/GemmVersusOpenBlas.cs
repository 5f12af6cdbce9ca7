using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ForgetGate.Lab.Numerics.Linalg;
using ForgetGate.Lab.Numerics.Threading;
using ManagedGemm = ForgetGate.Lab.Numerics.Linalg.Gemm;

namespace ForgetGate.Lab.Benchmarks.Gemm;

/// <summary>
/// <c>dotnet run -c Release --project tests/ForgetGate.Lab.Benchmarks -- gemm</c>: GFLOP/s of our managed GEMM next to
/// OpenBLAS sgemm (Debian libopenblas0-pthread, called through P/Invoke) on the LSTM's shapes, measured back to back
/// in one process, best of several repetitions, plus this machine's measured FMA peak.
/// </summary>
internal static partial class GemmVersusOpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport("libopenblas.so.0", EntryPoint = "cblas_sgemm")]
    private static partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);

    [LibraryImport("libopenblas.so.0", EntryPoint = "openblas_set_num_threads")]
    private static partial void SetOpenBlasThreads(int threads);

    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        double peak1 = FmaPeak(1), peak2 = FmaPeak(2);
        Console.WriteLine(string.Create(inv, $"FMA peak measured here: {peak1:F1} GFLOP/s on 1 core, {peak2:F1} on 2 ({(Avx512F.IsSupported ? "AVX-512" : "AVX2")})"));
        using var pool1 = new ComputePool(1);
        using var pool2 = new ComputePool(2);
        Console.WriteLine("| shape | case | M | N | K | ours 1T | OpenBLAS 1T | ours 2T | OpenBLAS 2T | ours/OpenBLAS (2T) | ours % of 2-core peak |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, ta, tb, m, n, k) in new (string, Transpose, Transpose, int, int, int)[]
        {
            ("recurrent h·W_hhᵀ, H=64", Transpose.No, Transpose.Yes, 128, 256, 64),
            ("recurrent h·W_hhᵀ, H=128", Transpose.No, Transpose.Yes, 128, 512, 128),
            ("recurrent h·W_hhᵀ, H=256", Transpose.No, Transpose.Yes, 128, 1024, 256),
            ("input projection X·W_ihᵀ", Transpose.No, Transpose.Yes, 3584, 512, 28),
            ("dW_hh = dZᵀ·H", Transpose.Yes, Transpose.No, 512, 128, 3584),
            ("dW_ih = dZᵀ·X", Transpose.Yes, Transpose.No, 512, 28, 3584),
            ("dh = dZ·W_hh", Transpose.No, Transpose.No, 128, 128, 512),
            ("square n=1024", Transpose.No, Transpose.No, 1024, 1024, 1024),
        })
        {
            var r = new double[4];
            for (int t = 0; t < 2; t++)
            {
                int threads = t + 1;
                var pool = threads == 1 ? pool1 : pool2;
                r[t * 2] = Measure(m, n, k, (a, b, c) => () => ManagedGemm.Multiply(ta, tb, m, n, k, 1f, a, ta == Transpose.No ? k : m, b, tb == Transpose.No ? n : k, 0f, c, n, pool));
                SetOpenBlasThreads(threads);
                r[(t * 2) + 1] = Measure(m, n, k, (a, b, c) => () => Sgemm(RowMajor, ta == Transpose.No ? NoTrans : Trans, tb == Transpose.No ? NoTrans : Trans, m, n, k, 1f, a, ta == Transpose.No ? k : m, b, tb == Transpose.No ? n : k, 0f, c, n));
            }

            Console.WriteLine(string.Create(inv, $"| {name} | {(ta == Transpose.No ? "N" : "T")}{(tb == Transpose.No ? "N" : "T")} | {m} | {n} | {k} | {r[0]:F1} | {r[1]:F1} | {r[2]:F1} | {r[3]:F1} | {r[2] / r[3]:F2} | {100 * r[2] / peak2:F0}% |"));
        }
    }

    private static double Measure(int m, int n, int k, Func<float[], float[], float[], Action> setup)
    {
        var rng = new System.Random(1);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var c = new float[m * n];
        var op = setup(a, b, c);
        double flops = 2.0 * m * n * k;
        int reps = Math.Max(3, (int)(2e9 / flops));
        for (int i = 0; i < Math.Min(reps, 20); i++)
        {
            op();
        }

        double best = 0;
        for (int trial = 0; trial < 5; trial++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++)
            {
                op();
            }

            best = Math.Max(best, flops * reps / sw.Elapsed.TotalSeconds / 1e9);
        }

        return best;
    }

    /// <summary>Register-only FMA chains (12 independent accumulators per thread) to measure the machine's peak.</summary>
    private static double FmaPeak(int threads)
    {
        const long Iterations = 50_000_000;
        double best = 0;
        for (int trial = 0; trial < 3; trial++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Spin(Iterations));
            double lanes = Avx512F.IsSupported ? 16 : 8;
            best = Math.Max(best, threads * Iterations * 12 * lanes * 2 / sw.Elapsed.TotalSeconds / 1e9);
        }

        return best;
    }

    private static float Spin(long iterations)
    {
        if (Avx512F.IsSupported)
        {
            var x = Vector512.Create(1.0001f);
            var y = Vector512.Create(0.9999f);
            Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Avx512F.FusedMultiplyAdd(a0, y, x); a1 = Avx512F.FusedMultiplyAdd(a1, y, x); a2 = Avx512F.FusedMultiplyAdd(a2, y, x);
                a3 = Avx512F.FusedMultiplyAdd(a3, y, x); a4 = Avx512F.FusedMultiplyAdd(a4, y, x); a5 = Avx512F.FusedMultiplyAdd(a5, y, x);
                a6 = Avx512F.FusedMultiplyAdd(a6, y, x); a7 = Avx512F.FusedMultiplyAdd(a7, y, x); a8 = Avx512F.FusedMultiplyAdd(a8, y, x);
                a9 = Avx512F.FusedMultiplyAdd(a9, y, x); a10 = Avx512F.FusedMultiplyAdd(a10, y, x); a11 = Avx512F.FusedMultiplyAdd(a11, y, x);
            }

            return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).GetElement(0);
        }

        var v = Vector256.Create(1.0001f);
        var w = Vector256.Create(0.9999f);
        Vector256<float> b0 = v, b1 = v, b2 = v, b3 = v, b4 = v, b5 = v, b6 = v, b7 = v, b8 = v, b9 = v, b10 = v, b11 = v;
        for (long i = 0; i < iterations; i++)
        {
            b0 = Fma.MultiplyAdd(b0, w, v); b1 = Fma.MultiplyAdd(b1, w, v); b2 = Fma.MultiplyAdd(b2, w, v);
            b3 = Fma.MultiplyAdd(b3, w, v); b4 = Fma.MultiplyAdd(b4, w, v); b5 = Fma.MultiplyAdd(b5, w, v);
            b6 = Fma.MultiplyAdd(b6, w, v); b7 = Fma.MultiplyAdd(b7, w, v); b8 = Fma.MultiplyAdd(b8, w, v);
            b9 = Fma.MultiplyAdd(b9, w, v); b10 = Fma.MultiplyAdd(b10, w, v); b11 = Fma.MultiplyAdd(b11, w, v);
        }

        return (b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8 + b9 + b10 + b11).GetElement(0);
    }
}
