using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Torch;

namespace ForgetGate.Lab.Engines.Tests;

/// <summary>
/// The managed engine against libtorch through the seam, same parameters: logits, gradients, gate telemetry and 50
/// Adam steps. Each engine is float32 with its own summation order, so they agree to float32 rounding amplified by
/// depth and steps; the tolerances are the (1e-5 logits, 1e-4 relative gradients, 1e-3 relative loss), and
/// both engines are separately checked against float64 and PyTorch goldens in the Numerics tests. Sizes are odd so
/// no vector width or tile divides them (<see cref="Parity"/>). Cell files: <see cref="CellAutogradParityTests"/>.
/// </summary>
public sealed class EngineParityTests
{
    private const int D = Parity.D, H = Parity.H, C = Parity.C, T = Parity.T, B = Parity.B;

    public EngineParityTests() => ModelEngines.Register(TorchEngine.Instance);

    public static TheoryData<Variant, int> Cases()
    {
        var data = new TheoryData<Variant, int>();
        foreach (var v in Variants.All)
        {
            data.Add(v, 1);
            data.Add(v, 2);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_SameCheckpoint_LogitsAndForgetGatesAgree(Variant variant, int layers)
    {
        string path = Path.Combine(Path.GetTempPath(), $"fg-parity-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var start = Build("managed", variant, layers))
            {
                ModelCheckpoint.Save(start, path);
            }

            using var managed = ModelCheckpoint.Load(path, "managed");
            using var torch = ModelCheckpoint.Load(path, "torch");
            Assert.Equal("torch", torch.Engine);
            var x = Parity.Input(B, T, D, "x");
            var a = new float[B * C];
            var b = new float[B * C];
            managed.Forward(x, B, T, a, training: false);
            torch.Forward(x, B, T, b, training: false);
            Parity.AssertClose(a, b, 1e-5, $"{variant} logits");

            for (int k = 0; k < layers; k++)
            {
                var ga = new float[T * B * H];
                var gb = new float[T * B * H];
                Assert.Equal(ga.Length, managed.CopyForgetGates(k, ga));
                Assert.Equal(gb.Length, torch.CopyForgetGates(k, gb));
                Parity.AssertClose(ga, gb, 1e-5, $"{variant} forget gate of layer {k}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_OneBatch_GradientsAgreeRelatively(Variant variant, int layers)
    {
        using var managed = Build("managed", variant, layers);
        using var torch = Build("torch", variant, layers);
        Parity.ForwardBackward(managed);
        Parity.ForwardBackward(torch);
        Parity.AssertGradientsClose(managed, torch, $"{variant} L={layers}");
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.Cifg)]
    [InlineData(Variant.UrLstm)]
    public void Adam_FiftySteps_LossesAgree(Variant variant)
    {
        // Same start, same batches, our Adam on each engine's host buffers (the seam's contract).
        using var managed = Build("managed", variant, 2);
        using var torch = Build("torch", variant, 2);
        Parity.AssertLossesClose(Parity.Train(managed), Parity.Train(torch), variant.ToString());
    }

    [Fact]
    public void Backward_WithoutTrainingForward_IsRefused()
    {
        using var torch = Build("torch", Variant.Lstm, 1);
        var y = new float[B * C];
        torch.Forward(Parity.Input(B, T, D, "x"), B, T, y, training: false);
        Assert.Throws<InvalidOperationException>(() => torch.Backward(new float[B * C]));
    }

    [Fact]
    public void Forward_NonFiniteInput_NamesThePosition()
    {
        using var torch = Build("torch", Variant.Gru, 1);
        var x = Parity.Input(B, T, D, "x");
        x[(2 * T * D) + (3 * D) + 4] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => torch.Forward(x, B, T, new float[B * C], training: false));
        Assert.Contains("[batch 2, step 3, feature 4]", e.Message, StringComparison.Ordinal);
    }

    private static IRecurrentNetwork Build(string engine, Variant variant, int layers) =>
        Parity.Build(engine, new RecurrentModelConfig(variant, D, H, layers, C));
}
