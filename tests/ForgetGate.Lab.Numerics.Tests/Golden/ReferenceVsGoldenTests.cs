using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Numerics.Tests.Reference;

namespace ForgetGate.Lab.Numerics.Tests.Golden;

/// <summary>The float64 reference (and our Adam) against PyTorch 1.13 golden files.</summary>
public sealed class ReferenceVsGoldenTests
{
    // PyTorch computed the goldens in float32; the reference is float64, so the difference is PyTorch's
    // own rounding: dot products of length ≤ D + H = 20 (≈ √20·6e-8 ≈ 3e-7 relative), carried through
    // T = 5 steps, 2 layers and backward (sums over B·T = 20 terms): ≲ 3e-6 relative to each tensor's
    // largest element. Measured: logits ≤ 1e-7, gradients ≤ 1.6e-6, Adam after 5 steps ≤ 2.5e-6 (Adam
    // divides by √v, so a small gradient's rounding moves its update more). 1e-5 leaves a ≥ 4× margin; a
    // wrong equation (gate order, missing r factor, doubled bias) is off by ≥ 1e-2.
    private const double Tolerance = 1e-5;

    public static TheoryData<string, int> Cases() => GoldenFiles.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reference_PyTorchWeights_MatchesLogitsLossAndGradients(string variant, int layers)
    {
        var ckpt = ModelCheckpoint.Read(GoldenFiles.Checkpoint(variant, layers)); // a PyTorch-written checkpoint loads
        Assert.Equal(variant, ckpt.Config.Variant.Name());
        var golden = GoldenFiles.Case(variant, layers);
        var reference = new ReferenceModel(ckpt.Config);
        reference.CopyFrom(ckpt.Tensors);

        var input = golden.Get("input");
        int batch = input.Shape[0], steps = input.Shape[1];
        var x = input.AsFloat32().Select(v => (double)v).ToArray();
        var labels = golden.Get("labels").AsInt32();
        int classes = ckpt.Config.Outputs;

        var logits = reference.Forward(x, batch, steps);
        NumericAssert.Close(logits, golden.GetFloat32("logits", batch, classes), Tolerance, $"{variant} logits");
        var dLogits = new double[logits.Length];
        double loss = ReferenceModel.CrossEntropy(logits, labels, batch, classes, dLogits);
        NumericAssert.Close([loss], golden.GetFloat32("loss"), Tolerance, $"{variant} loss");

        reference.Backward(dLogits);
        foreach (var p in reference.Parameters)
        {
            NumericAssert.Close(p.Gradient, golden.GetFloat32("grad/" + p.Name, p.Shape), Tolerance, $"{variant} grad {p.Name}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReferenceWithAdam_FiveSteps_MatchesPyTorchParameters(string variant, int layers)
    {
        var ckpt = ModelCheckpoint.Read(GoldenFiles.Checkpoint(variant, layers));
        var golden = GoldenFiles.Case(variant, layers);
        var reference = new ReferenceModel(ckpt.Config);
        var parameters = ModelCheckpoint.ExpectedTensors(ckpt.Config).Select(e => new Parameter(e.Name, e.Shape)).ToList();
        ckpt.CopyTo(parameters);

        var input = golden.Get("input");
        int batch = input.Shape[0], steps = input.Shape[1];
        var x = input.AsFloat32().Select(v => (double)v).ToArray();
        var labels = golden.Get("labels").AsInt32();
        var adam = new Adam(parameters, lr: 1e-2f);
        for (int step = 0; step < 5; step++)
        {
            // float32 weights as PyTorch holds them; gradients from the float64 reference, rounded to float32.
            reference.CopyFrom(parameters);
            var logits = reference.Forward(x, batch, steps);
            var dLogits = new double[logits.Length];
            ReferenceModel.CrossEntropy(logits, labels, batch, ckpt.Config.Outputs, dLogits);
            reference.Backward(dLogits);
            foreach (var p in parameters)
            {
                var g = reference[p.Name].Gradient;
                for (int i = 0; i < g.Length; i++)
                {
                    p.Gradient[i] = (float)g[i];
                }
            }

            adam.Step();
        }

        // Each Adam update is lr·m̂/(√v̂+ε) with |m̂/√v̂| ≤ ~1: the gradients' ~3e-6 relative difference moves
        // an update by ~lr·3e-6, i.e. far below 1e-5 of the weights (max |w| ≈ 0.3–1). Tolerance as above.
        foreach (var p in parameters)
        {
            NumericAssert.Close(golden.GetFloat32("adam5/" + p.Name, [.. p.Shape]), p.Value, Tolerance, $"{variant} adam5 {p.Name}");
        }
    }
}
