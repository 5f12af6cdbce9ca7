using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Diagnostics;

/// <summary>
/// Measures this machine's single-precision FMA peak: every thread runs 12 independent register-only FMA chains
/// of the vector width the products use (512-bit where <see cref="MatMul"/> uses its AVX-512 tile, else 256-bit),
/// best of three rounds. Benchmarks report their GFLOP/s as a fraction of this figure rather than of a constant
/// that holds for one CPU only.
/// </summary>
public static class FmaPeak
{
    private const int Chains = 12;

    /// <summary>Vector width in bits that the measurement (and the product kernels) use.</summary>
    public static int VectorBits => MatMul.UseWide ? 512 : 256;

    /// <summary>Peak GFLOP/s (2 FLOPs per lane per FMA) of <paramref name="threads"/> threads running at once.</summary>
    public static double Measure(int threads, long iterations = 20_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (!Fma.IsSupported)
        {
            return double.NaN; // no hardware FMA: the products run scalar and a vector peak means nothing
        }

        double best = 0;
        for (int round = 0; round < 3; round++)
        {
            var workers = new Thread[threads];
            using var start = new ManualResetEventSlim();
            for (int t = 0; t < threads; t++)
            {
                workers[t] = new Thread(() =>
                {
                    start.Wait();
                    Sink(Spin(iterations));
                }) { IsBackground = true };
                workers[t].Start();
            }

            var clock = Stopwatch.StartNew();
            start.Set();
            foreach (var w in workers)
            {
                w.Join();
            }

            double lanes = VectorBits / 32;
            best = Math.Max(best, threads * iterations * Chains * lanes * 2 / clock.Elapsed.TotalSeconds / 1e9);
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sink(float value) => GC.KeepAlive(value);

    private static float Spin(long iterations)
    {
        if (MatMul.UseWide)
        {
            var x = Vector512.Create(1.0001f);
            var y = Vector512.Create(0.9999f);
            Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Avx512F.FusedMultiplyAdd(a0, y, x);
                a1 = Avx512F.FusedMultiplyAdd(a1, y, x);
                a2 = Avx512F.FusedMultiplyAdd(a2, y, x);
                a3 = Avx512F.FusedMultiplyAdd(a3, y, x);
                a4 = Avx512F.FusedMultiplyAdd(a4, y, x);
                a5 = Avx512F.FusedMultiplyAdd(a5, y, x);
                a6 = Avx512F.FusedMultiplyAdd(a6, y, x);
                a7 = Avx512F.FusedMultiplyAdd(a7, y, x);
                a8 = Avx512F.FusedMultiplyAdd(a8, y, x);
                a9 = Avx512F.FusedMultiplyAdd(a9, y, x);
                a10 = Avx512F.FusedMultiplyAdd(a10, y, x);
                a11 = Avx512F.FusedMultiplyAdd(a11, y, x);
            }

            return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).GetElement(0);
        }

        var v = Vector256.Create(1.0001f);
        var w = Vector256.Create(0.9999f);
        Vector256<float> b0 = v, b1 = v, b2 = v, b3 = v, b4 = v, b5 = v, b6 = v, b7 = v, b8 = v, b9 = v, b10 = v, b11 = v;
        for (long i = 0; i < iterations; i++)
        {
            b0 = Fma.MultiplyAdd(b0, w, v);
            b1 = Fma.MultiplyAdd(b1, w, v);
            b2 = Fma.MultiplyAdd(b2, w, v);
            b3 = Fma.MultiplyAdd(b3, w, v);
            b4 = Fma.MultiplyAdd(b4, w, v);
            b5 = Fma.MultiplyAdd(b5, w, v);
            b6 = Fma.MultiplyAdd(b6, w, v);
            b7 = Fma.MultiplyAdd(b7, w, v);
            b8 = Fma.MultiplyAdd(b8, w, v);
            b9 = Fma.MultiplyAdd(b9, w, v);
            b10 = Fma.MultiplyAdd(b10, w, v);
            b11 = Fma.MultiplyAdd(b11, w, v);
        }

        return (b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8 + b9 + b10 + b11).GetElement(0);
    }
}
