using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    public static int VectorBits => (MatMul.UseWide ? Lanes512.Count : Lanes256.Count) * 32;

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

    private static float Spin(long iterations) => MatMul.UseWide ? Spin<Lanes512>(iterations) : Spin<Lanes256>(iterations);

    /// <summary>Twelve independent FMA chains at lane width <typeparamref name="T"/>, enough to cover the FMA latency on two ports.</summary>
    private static float Spin<T>(long iterations)
        where T : struct, ILanes<T>
    {
        var x = T.Create(1.0001f);
        var y = T.Create(0.9999f);
        T a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = T.Fma(a0, y, x);
            a1 = T.Fma(a1, y, x);
            a2 = T.Fma(a2, y, x);
            a3 = T.Fma(a3, y, x);
            a4 = T.Fma(a4, y, x);
            a5 = T.Fma(a5, y, x);
            a6 = T.Fma(a6, y, x);
            a7 = T.Fma(a7, y, x);
            a8 = T.Fma(a8, y, x);
            a9 = T.Fma(a9, y, x);
            a10 = T.Fma(a10, y, x);
            a11 = T.Fma(a11, y, x);
        }

        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        Span<float> lanes = stackalloc float[T.Count];
        sum.Store(ref MemoryMarshal.GetReference(lanes), 0);
        return lanes[0];   // one lane is enough to keep the chains alive
    }
}
