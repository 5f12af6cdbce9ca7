using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Tests.Golden;
using ForgetGate.Lab.Numerics.Tests.Reference;

namespace ForgetGate.Lab.Numerics.Tests.Optim;

/// <summary>Optimizers and clipping against torch.optim / clip_grad_norm_ on hand-fed gradients (optim.safetensors).</summary>
public sealed class OptimizerGoldenTests
{
    // Same float32 formulas in the same order as PyTorch's single-tensor path; the only freedom left is
    // whether a kernel fuses a multiply-add (one rounding instead of two, ≤ 1 ulp per op). Over 5 steps of
    // ~6 ops that is ≲ 30 ulps of an element. Measured: ≤ 1 ulp of a small element, i.e. ≤ 6e-9 × max|p|.
    // 1e-6 × max|p| (≈ 8 ulps of the largest weight) keeps a wide margin, while a wrong formula (eps
    // placement, bias correction, dampening on the first step) fails by ≥ 1e-4.
    private const double Tolerance = 1e-6;
    private static readonly string[] s_names = ["a", "b"];

    private static List<Parameter> Start()
    {
        var file = GoldenFiles.Optim();
        return s_names.Select(n =>
        {
            var t = file.Get("p0/" + n);
            var p = new Parameter(n, [.. t.Shape]);
            t.AsFloat32().CopyTo(p.Value, 0);
            return p;
        }).ToList();
    }

    private static void RunAndCompare(string tag, Func<IReadOnlyList<Parameter>, IOptimizer> make)
    {
        var file = GoldenFiles.Optim();
        var ps = Start();
        var opt = make(ps);
        for (int step = 1; step <= 5; step++)
        {
            foreach (var p in ps)
            {
                file.GetFloat32($"grad{step}/{p.Name}").CopyTo(p.Gradient, 0);
            }

            opt.Step();
            foreach (var p in ps)
            {
                NumericAssert.Close(file.GetFloat32($"{tag}/step{step}/{p.Name}", [.. p.Shape]), p.Value, Tolerance, $"{tag} step {step} {p.Name}");
            }
        }
    }

    [Fact]
    public void Adam_WeightDecayAndCustomBetas_MatchesTorchEveryStep() =>
        RunAndCompare("adam", ps => new Adam(ps, lr: 1e-2f, beta1: 0.8f, beta2: 0.99f, eps: 1e-6f, weightDecay: 0.01f));

    [Fact]
    public void Adam_Defaults_MatchesTorchEveryStep() =>
        RunAndCompare("adam_default", ps => new Adam(ps, lr: 1e-3f));

    [Fact]
    public void Sgd_MomentumDampeningWeightDecay_MatchesTorchEveryStep() =>
        RunAndCompare("sgd", ps => new Sgd(ps, lr: 0.1f, momentum: 0.9f, dampening: 0.1f, weightDecay: 0.01f));

    [Fact]
    public void Sgd_Nesterov_MatchesTorchEveryStep() =>
        RunAndCompare("sgd_nesterov", ps => new Sgd(ps, lr: 0.05f, momentum: 0.8f, nesterov: true));

    [Fact]
    public void Sgd_Plain_MatchesTorchEveryStep() =>
        RunAndCompare("sgd_plain", ps => new Sgd(ps, lr: 0.1f));

    [Fact]
    public void Adam_StateRestoredMidway_MatchesTorchAfterStep5()
    {
        var file = GoldenFiles.Optim();
        var ps = Start();
        var adam = new Adam(ps, lr: 1e-3f);
        for (int step = 1; step <= 5; step++)
        {
            foreach (var p in ps)
            {
                file.GetFloat32($"grad{step}/{p.Name}").CopyTo(p.Gradient, 0);
            }

            adam.Step();
            if (step == 2)
            {
                // As after a resume: a fresh optimizer fed the saved state continues the same trajectory.
                var state = adam.GetState();
                adam = new Adam(ps, lr: 1e-3f);
                adam.SetState(state);
            }
        }

        foreach (var p in ps)
        {
            NumericAssert.Close(file.GetFloat32($"adam_default/step5/{p.Name}"), p.Value, Tolerance, $"resumed adam {p.Name}");
        }
    }

    [Theory]
    [InlineData("clip", 0.5f)]
    [InlineData("noclip", 1e6f)]
    public void ClipGlobalNorm_MatchesTorchNormAndGradients(string tag, float maxNorm)
    {
        var file = GoldenFiles.Optim();
        var ps = Start();
        foreach (var p in ps)
        {
            file.GetFloat32($"{tag}/input/{p.Name}").CopyTo(p.Gradient, 0);
        }

        float total = GradientClipping.ClipGlobalNorm(ps, maxNorm);
        // The norm is a sum of ~50 squares: float32 vs our float64 accumulation differ by ≲ 1e-6 relative.
        NumericAssert.Close(file.GetFloat32($"{tag}/total_norm"), [total], 1e-6, $"{tag} total norm");
        Assert.Equal(tag == "clip", total > maxNorm);
        foreach (var p in ps)
        {
            NumericAssert.Close(file.GetFloat32($"{tag}/grad/{p.Name}"), p.Gradient, Tolerance, $"{tag} grad {p.Name}");
        }
    }
}
