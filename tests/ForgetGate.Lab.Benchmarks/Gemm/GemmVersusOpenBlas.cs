using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ForgetGate.Lab.Numerics.Diagnostics;
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

    [LibraryImport("libopenblas.so.0", EntryPoint = "openblas_get_config")]
    private static partial nint OpenBlasConfig();

    [LibraryImport("libopenblas.so.0", EntryPoint = "openblas_get_corename")]
    private static partial nint OpenBlasCore();

    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;

        // Which kernels are compared: OpenBLAS picks its core by CPU model (a core it does not know falls back to an
        // older one, e.g. AVX2 "Haswell" on a new AVX-512 CPU); OPENBLAS_CORETYPE=SkylakeX forces its AVX-512 kernels.
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
        Console.WriteLine($"CPU: {cpu}, {Environment.ProcessorCount} logical cores; {Marshal.PtrToStringAnsi(OpenBlasConfig())}, core {Marshal.PtrToStringAnsi(OpenBlasCore())}" +
            $"{(Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } forced ? $" (OPENBLAS_CORETYPE={forced})" : " (chosen by OpenBLAS)")}");
        double peak1 = FmaPeak.Measure(1), peak2 = FmaPeak.Measure(2);
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
}
