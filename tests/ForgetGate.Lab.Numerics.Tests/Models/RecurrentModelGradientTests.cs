using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Models;

public sealed class RecurrentModelGradientTests
{
    public static TheoryData<string, int, int, int, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int, int, int, int>();
        foreach (var v in Variants.All)
        {
            // variant, input D, hidden H, layers, steps T, batch B: H not a multiple of 8 or 16, T = 1, B = 1, 2–3 layers.
            data.Add(v.Name(), 3, 5, 1, 1, 1);
            data.Add(v.Name(), 4, 13, 2, 4, 3);
            data.Add(v.Name(), 2, 5, 3, 3, 2);
        }

        return data;
    }

    public static TheoryData<string> AllVariants()
    {
        var data = new TheoryData<string>();
        foreach (var v in Variants.All)
        {
            data.Add(v.Name());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_OddShapes_MatchesFloat64Reference(string variant, int input, int hidden, int layers, int steps, int batch)
    {
        using var model = ModelTestData.Create(Variants.Parse(variant), input, hidden, layers, 3, steps);
        var x = ModelTestData.Input(batch, steps, input);
        var logits = new float[batch * 3];
        model.Forward(x, batch, steps, logits, training: false);
        var expected = ScalarReference.Forward(model, x, batch, steps);

        // float32 with FMA over sums of ≤ 20 terms of size ≤ 1 through ≤ 3 layers of saturating gates: the error
        // stays within a few hundred float32 ulps of O(1) values, far below 1e-4; a wrong gate or layout is O(0.1).
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(logits[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"{variant} logit {i}: {logits[i]} vs {expected[i]} (seed {ModelTestData.Seed})");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_OddShapes_MatchesFiniteDifferences(string variant, int input, int hidden, int layers, int steps, int batch)
    {
        const int outputs = 3;
        using var model = ModelTestData.Create(Variants.Parse(variant), input, hidden, layers, outputs, steps);
        var x = ModelTestData.Input(batch, steps, input);

        // Loss L = Σ R ⊙ logits with fixed random R: linear in the logits, so dL/dlogits = R exactly.
        var rng = new Rng(ModelTestData.Seed).Split("R");
        var weights = new float[batch * outputs];
        rng.FillUniform(weights, -1f, 1f);
        var logits = new float[batch * outputs];
        model.Forward(x, batch, steps, logits, training: true);
        model.Backward(weights);
        var analytic = model.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();

        double Loss()
        {
            model.Forward(x, batch, steps, logits, training: false);
            double s = 0;
            for (int i = 0; i < logits.Length; i++)
            {
                s += (double)weights[i] * logits[i];
            }

            return s;
        }

        // Five-point stencil with e = 1e-2: truncation O(e⁴·L⁽⁵⁾) ≈ 1e-8; float32 rounding of the forward pass
        // (~1e-6 relative on |L| ≲ 3) divided by e gives ≲ 5e-4. Hence 2e-3 absolute + 1e-2 relative; a wrong
        // term (e.g. a missing r factor in the GRU n-slice) is the size of the gradient itself.
        const float e = 1e-2f;
        for (int pi = 0; pi < model.Parameters.Count; pi++)
        {
            var p = model.Parameters[pi];
            for (int j = 0; j < p.Length; j++)
            {
                float orig = p.Value[j];
                p.Value[j] = orig + e;
                double lp1 = Loss();
                p.Value[j] = orig - e;
                double lm1 = Loss();
                p.Value[j] = orig + (2 * e);
                double lp2 = Loss();
                p.Value[j] = orig - (2 * e);
                double lm2 = Loss();
                p.Value[j] = orig;
                double fd = ((8 * (lp1 - lm1)) - (lp2 - lm2)) / (12 * (double)e);
                double an = analytic[pi][j];
                Assert.True(
                    Math.Abs(fd - an) <= 2e-3 + (1e-2 * Math.Abs(fd)),
                    $"{variant} {p.Name}[{j}]: analytic {an} vs finite difference {fd} (seed {ModelTestData.Seed})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void Backward_TwoCalls_OverwritesGradients(string variant)
    {
        using var model = ModelTestData.Create(Variants.Parse(variant), 3, 6, 2, 2, 3);
        var x = ModelTestData.Input(2, 3, 3);
        var logits = new float[4];
        float[] d = [0.5f, -1f, 0.25f, 2f];
        model.Forward(x, 2, 3, logits, training: true);
        model.Backward(d);
        var first = model.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();
        model.Forward(x, 2, 3, logits, training: true);
        model.Backward(d);
        for (int i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i], model.Parameters[i].Gradient);
            Assert.Contains(first[i], v => v != 0f);
        }
    }
}
