using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Reference;

/// <summary>The fast float32 <see cref="RecurrentModel"/> against the float64 reference, same weights.</summary>
public sealed class ModelVsReferenceTests
{
    private static readonly ulong s_seed = ulong.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), out var s) ? s : 20261122UL;

    // Tolerance 1e-4 relative to each tensor's largest magnitude. float32 rounds every product and sum at
    // unit roundoff 6e-8; a dot product of length K = D + H ≤ 65 errs by ≲ √K·6e-8 ≈ 5e-7 relative to its
    // terms, and that error is carried (not amplified: gates are contractive, |σ'| ≤ 1/4, |tanh'| ≤ 1)
    // through T ≤ 6 steps, 3 layers and the backward pass, which sums T·B terms per weight gradient.
    // Measured: ≤ 5e-6 everywhere except 1.25e-5 for dhead.weight in the 3-layer T = 1 chrono case, where
    // every top-layer h is ~3e-3 and the engine's tanh(x) = 1 − 2/(e^{2x}+1) has an absolute error of
    // ~6e-8 (relative 2e-5 at x = 3e-3). 1e-4 leaves ≥ 8× margin, while a wrong term in any equation (a
    // missing factor r, a doubled bias, a gate block out of order) changes results by ≥ 1e-2 relative.
    private const double Tolerance = 1e-4;

    public static TheoryData<Variant, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<Variant, int, int, int, int, int>();
        foreach (var v in Variants.All)
        {
            data.Add(v, 3, 5, 3, 1, 1);
            data.Add(v, 7, 13, 2, 2, 4);
            data.Add(v, 28, 37, 1, 5, 6);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardBackward_SameWeights_MatchesFloat64Reference(Variant variant, int d, int h, int layers, int batch, int steps)
    {
        const int Classes = 4;
        var config = new RecurrentModelConfig(variant, d, h, layers, Classes);
        var rng = new Rng(s_seed).Split($"{variant}-{d}-{h}-{layers}-{batch}-{steps}");
        using var model = new RecurrentModel(config);
        model.Initialize(rng.Split("init"), steps);
        var reference = new ReferenceModel(config);
        reference.CopyFrom(model.Parameters);
        Assert.Equal(reference.Parameters.Select(p => p.Name), model.Parameters.Select(p => p.Name));

        var x = new float[batch * steps * d];
        var data = rng.Split("data");
        data.FillUniform(x, -1f, 1f);
        var labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            labels[b] = data.NextInt(Classes);
        }

        var logits = new float[batch * Classes];
        model.Forward(x, batch, steps, logits, training: true);
        var refLogits = reference.Forward(x.Select(v => (double)v).ToArray(), batch, steps);
        NumericAssert.Close(refLogits, logits, Tolerance, $"{variant} logits");

        var dLogits = new float[batch * Classes];
        float loss = ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, labels, batch, Classes, dLogits);
        var refDLogits = new double[batch * Classes];
        double refLoss = ReferenceModel.CrossEntropy(refLogits, labels, batch, Classes, refDLogits);
        NumericAssert.Close([refLoss], [loss], Tolerance, $"{variant} loss");

        model.Backward(dLogits);
        reference.Backward(refDLogits);
        foreach (var p in model.Parameters)
        {
            NumericAssert.Close(reference[p.Name].Gradient, p.Gradient, Tolerance, $"{variant} d{p.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_Twice_IsDeterministicAndBackwardOverwritesGradients(Variant variant, int d, int h, int layers, int batch, int steps)
    {
        const int Classes = 3;
        using var model = new RecurrentModel(new RecurrentModelConfig(variant, d, h, layers, Classes));
        model.Initialize(new Rng(s_seed), steps);
        var x = new float[batch * steps * d];
        new Rng(s_seed + 1).FillUniform(x, -1f, 1f);
        var logits = new float[batch * Classes];
        var dLogits = new float[batch * Classes];
        dLogits.AsSpan().Fill(0.1f);
        model.Forward(x, batch, steps, logits, training: true);
        model.Backward(dLogits);
        var first = model.Parameters.Select(p => (float[])p.Gradient.Clone()).ToArray();
        model.Forward(x, batch, steps, logits, training: true);
        model.Backward(dLogits);
        for (int i = 0; i < first.Length; i++)
        {
            Assert.Equal(first[i], model.Parameters[i].Gradient); // bit-identical, not accumulated
        }
    }
}
