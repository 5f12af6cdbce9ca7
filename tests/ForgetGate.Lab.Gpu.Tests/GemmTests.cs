using ForgetGate.Lab.Gpu.Kernels;
using ForgetGate.Lab.Numerics.Random;
using ILGPU;
using ILGPU.Runtime;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>The batched GEMM kernel against a float64 reference, at the GPU's tile shape and the CPU accelerator's.</summary>
public sealed class GemmTests
{
    [Fact]
    public void BatchedGemm_TransposedOperandsAndAddend_MatchFloat64_AndAgreeAcrossTileSizes()
    {
        // Sizes that leave partial tiles at both tile sizes and a partial K slice; A transposed, B row-major, D broadcast by row.
        const int M = 70, N = 131, K = 37, Runs = 2;
        var rng = new Rng(7);
        var a = Fill(rng, Runs * K * M);   // A[r] stored as [K, M]: element (m, k) at k·M + m
        var b = Fill(rng, Runs * K * N);   // B[r] stored as [K, N]
        var d = Fill(rng, Runs * N);       // D[r] a row vector broadcast over m
        var args = new GemmArgs
        {
            M = M, N = N, K = K, ARun = K * M, ARow = 1, ACol = M, BRun = K * N, BRow = N, BCol = 1, CRun = M * N, CRow = N,
            DRun = N, DRow = 0, DCol = 1, HasD = 1,
        };

        float[] wide = Run(wideGroups: true, args, a, b, d, Runs * M * N);
        float[] narrow = Run(wideGroups: false, args, a, b, d, Runs * M * N);
        Assert.Equal(wide, narrow);
        for (int r = 0; r < Runs; r++)
        {
            for (int m = 0; m < M; m++)
            {
                for (int n = 0; n < N; n++)
                {
                    double sum = d[(r * N) + n];
                    for (int k = 0; k < K; k++)
                    {
                        sum += (double)a[(r * K * M) + (k * M) + m] * b[(r * K * N) + (k * N) + n];
                    }

                    float got = wide[(r * M * N) + (m * N) + n];
                    Assert.True(Math.Abs(got - sum) <= 1e-5 * (1 + Math.Abs(sum)), $"C[{r}][{m},{n}] = {got}, float64 {sum}");
                }
            }
        }
    }

    private static float[] Run(bool wideGroups, GemmArgs args, float[] a, float[] b, float[] d, int outputs)
    {
        using var device = GpuDevice.Open(GpuPreference.Cpu, wideGroups);
        var acc = device.Accelerator;
        using var da = acc.Allocate1D(a);
        using var db = acc.Allocate1D(b);
        using var dd = acc.Allocate1D(d);
        using var dc = acc.Allocate1D<float>(outputs);
        var kernel = acc.LoadStreamKernel<GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BatchedGemm.Kernel);
        kernel(BatchedGemm.Config(args.M, args.N, args.ARun == 0 ? 1 : a.Length / args.ARun, device.GemmThreads), args, da.View, db.View, dc.View, dd.View);
        Assert.Equal(wideGroups ? 16 : 4, device.GemmThreads);
        return dc.GetAsArray1D();
    }

    private static float[] Fill(Rng rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)rng.NextGaussian();
        }

        return v;
    }
}
