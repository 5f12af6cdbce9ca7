using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Reference;

/// <summary>The float64 reference's hand-derived backward against central finite differences.</summary>
public sealed class ReferenceGradientCheckTests
{
    // Seed overridable to explore other draws: FORGETGATE_TEST_SEED.
    private static readonly ulong s_seed = ulong.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), out var s) ? s : 20261122UL;

    public static TheoryData<Variant, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<Variant, int, int, int, int, int>();
        foreach (var v in Variants.All)
        {
            // (variant, D, H, layers, batch, steps): H not a multiple of any vector width; T = 1 and B = 1; 2–3 layers.
            data.Add(v, 3, 5, 3, 1, 1);
            data.Add(v, 7, 13, 2, 2, 4);
            data.Add(v, 4, 5, 2, 1, 6);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_EveryParameter_MatchesCentralFiniteDifferences(Variant variant, int d, int h, int layers, int batch, int steps)
    {
        const int Classes = 3;
        var model = new ReferenceModel(new RecurrentModelConfig(variant, d, h, layers, Classes));
        var rng = new Rng(s_seed).Split($"{variant}-{d}-{h}-{layers}-{batch}-{steps}");
        // Weights of 0.5 put gates well into their nonlinear range, so second-order terms matter and bugs show.
        model.Randomize(rng, 0.5);
        var x = new double[batch * steps * d];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = rng.Uniform(-1, 1);
        }

        var labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            labels[b] = rng.NextInt(Classes);
        }

        var dLogits = new double[batch * Classes];
        ReferenceModel.CrossEntropy(model.Forward(x, batch, steps), labels, batch, Classes, dLogits);
        model.Backward(dLogits);

        // Central differences with step 1e-6 in float64: truncation error ~ h²·|L'''|/6 ≈ 1e-13, rounding error
        // ~ ε·|L|/h ≈ 2e-16·1/1e-6 = 2e-10 absolute. A relative 1e-6 (plus a 1e-8 absolute floor for
        // near-zero gradients, well above the 2e-10 noise) is therefore ~100× the expected error, yet a wrong
        // term in a derivative (typically ≥ 1e-3 relative) fails it.
        const double Step = 1e-6;
        var scratch = new double[batch * Classes];
        foreach (var p in model.Parameters)
        {
            for (int i = 0; i < p.Value.Length; i++)
            {
                double saved = p.Value[i];
                p.Value[i] = saved + Step;
                double plus = ReferenceModel.CrossEntropy(model.Forward(x, batch, steps), labels, batch, Classes, scratch);
                p.Value[i] = saved - Step;
                double minus = ReferenceModel.CrossEntropy(model.Forward(x, batch, steps), labels, batch, Classes, scratch);
                p.Value[i] = saved;
                double numeric = (plus - minus) / (2 * Step);
                double analytic = p.Gradient[i];
                double tolerance = (1e-6 * Math.Max(Math.Abs(numeric), Math.Abs(analytic))) + 1e-8;
                Assert.True(
                    Math.Abs(numeric - analytic) <= tolerance,
                    $"{variant} {p.Name}[{i}]: analytic {analytic:R} vs numeric {numeric:R} (seed {s_seed}).");
            }
        }
    }

    [Fact]
    public void Backward_GruResetGate_MultipliesHiddenSideOfCandidateOnly()
    {
        // DESIGN.md §4: r multiplies W_hn h + b_hn, so b_in and b_hn get different gradients.
        var model = new ReferenceModel(new RecurrentModelConfig(Variant.Gru, 2, 3, 1, 2));
        model.Randomize(new Rng(s_seed), 0.7);
        var x = new double[] { 0.3, -0.8, 0.5, 0.1 };
        var dLogits = new double[2];
        ReferenceModel.CrossEntropy(model.Forward(x, 1, 2), [1], 1, 2, dLogits);
        model.Backward(dLogits);
        var bih = model["rnn.bias_ih_l0"].Gradient;
        var bhh = model["rnn.bias_hh_l0"].Gradient;
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(bih[j], bhh[j]); // r block: same
            Assert.Equal(bih[3 + j], bhh[3 + j]); // z block: same
        }

        Assert.NotEqual(bih[6], bhh[6]); // n block: differs by the factor r
    }
}
