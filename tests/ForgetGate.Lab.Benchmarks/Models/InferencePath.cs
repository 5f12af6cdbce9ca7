using System.Globalization;
using System.Runtime.InteropServices;
using ForgetGate.Lab.Numerics.Diagnostics;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Benchmarks.Models;

/// <summary>
/// <c>-- inference [H ...]</c>: the inference path (row blocks through all steps) against the training-layout forward
/// (layer by layer, every activation kept) on one thread at B = 1,000, in alternating rounds, timed in this thread's
/// CPU time, with the FMA peak measured the same way between rounds. CPU time leaves out the time the thread waits
/// for a core, so the ratio holds on a shared machine where wall-clock figures do not.
/// </summary>
internal static class InferencePath
{
    public static void Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int[] hidden = args.Length > 1 ? [.. args.Skip(1).Select(a => int.Parse(a, inv))] : [64, 128, 256];
        const int T = 28, D = 28, B = 1000, Rounds = 10;
        foreach (int h in hidden)
        {
            using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, D, h, 1, 10), ComputePool.SingleThreaded);
            model.Initialize(new Rng(1), T);
            var rng = new Rng(2);
            var x = new float[B * T * D];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)rng.NextGaussian();
            }

            var a = new float[B * 10];
            var b = new float[B * 10];
            for (int i = 0; i < 2; i++)
            {
                model.Forward(x, B, T, a, training: true);
                model.Forward(x, B, T, b, training: false);
            }

            double flops = 8.0 * T * h * (D + h) * B, forward = double.MaxValue, infer = double.MaxValue, peak = 0;
            for (int r = 0; r < Rounds; r++)
            {
                peak = Math.Max(peak, FmaPeak.Measure(1, 2_000_000) is var p && double.IsFinite(p) ? p : 0);
                double t0 = ThreadCpuSeconds();
                model.Forward(x, B, T, a, training: true);
                double t1 = ThreadCpuSeconds();
                model.Forward(x, B, T, b, training: false);
                double t2 = ThreadCpuSeconds();
                forward = Math.Min(forward, t1 - t0);
                infer = Math.Min(infer, t2 - t1);
            }

            Console.WriteLine(string.Create(inv,
                $"H={h,3} B={B} 1 thread: inference {B / infer,8:F0} samples/s {flops / infer / 1e9,6:F1} GFLOP/s ({100 * flops / infer / 1e9 / peak:F0}% of {peak:F0}) | training-layout forward {flops / forward / 1e9,6:F1} GFLOP/s | inference/forward {forward / infer:F2} | logits equal: {a.AsSpan().SequenceEqual(b)}"));
        }
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec value);

    /// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID; Linux).</summary>
    private static double ThreadCpuSeconds()
    {
        _ = ClockGetTime(3, out var ts);
        return ts.Seconds + (ts.Nanoseconds * 1e-9);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
