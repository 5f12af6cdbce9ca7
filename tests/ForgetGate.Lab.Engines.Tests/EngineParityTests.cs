using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Torch;

namespace ForgetGate.Lab.Engines.Tests;

/// <summary>
/// The managed engine against libtorch through the seam, same parameters: logits, gradients, gate telemetry and 50
/// Adam steps. Each engine is float32 with its own summation order, so they agree to float32 rounding amplified by
/// depth and steps; the tolerances are the (1e-5 logits, 1e-4 relative gradients, 1e-3 relative loss), and
/// both engines are separately checked against float64 and PyTorch goldens in the Numerics tests. Sizes are odd so
/// no vector width or tile divides them. FORGETGATE_TEST_SEED overrides the seed.
/// </summary>
public sealed class EngineParityTests
{
    private const int D = 5, H = 7, C = 3, T = 6, B = 5;

    private static readonly ulong s_seed =
        ulong.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), out var s) ? s : 20261201UL;

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
            var x = Input(B, T, D, "x");
            var a = new float[B * C];
            var b = new float[B * C];
            managed.Forward(x, B, T, a, training: false);
            torch.Forward(x, B, T, b, training: false);
            AssertClose(a, b, 1e-5, $"{variant} logits");

            for (int k = 0; k < layers; k++)
            {
                var ga = new float[T * B * H];
                var gb = new float[T * B * H];
                Assert.Equal(ga.Length, managed.CopyForgetGates(k, ga));
                Assert.Equal(gb.Length, torch.CopyForgetGates(k, gb));
                AssertClose(ga, gb, 1e-5, $"{variant} forget gate of layer {k}");
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
        var x = Input(B, T, D, "x");
        var labels = Labels(B, "y");
        foreach (var net in new[] { managed, torch })
        {
            var logits = new float[B * C];
            var dLogits = new float[B * C];
            net.Forward(x, B, T, logits, training: true);
            Losses.SoftmaxCrossEntropy(logits, labels, B, C, dLogits);
            net.Backward(dLogits);
        }

        for (int i = 0; i < managed.Parameters.Count; i++)
        {
            var p = managed.Parameters[i];
            var q = torch.Parameters[i];
            Assert.Equal(p.Name, q.Name);
            // Relative to the tensor's largest gradient: single elements near 0 have no meaningful relative error.
            double scale = Math.Max(p.Gradient.Max(Math.Abs), 1e-6);
            double worst = p.Gradient.Zip(q.Gradient, (u, v) => Math.Abs(u - v)).Max() / scale;
            Assert.True(worst <= 1e-4, $"{variant} L={layers} {p.Name}: max |Δgrad| / max|grad| = {worst:E3}");
            Assert.Contains(p.Gradient, g => g != 0f);
        }
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
        var lossA = Train(managed);
        var lossB = Train(torch);
        Assert.True(lossA[^1] < lossA[0], $"managed loss did not fall: {lossA[0]} → {lossA[^1]}");
        for (int s = 0; s < lossA.Length; s++)
        {
            double rel = Math.Abs(lossA[s] - lossB[s]) / Math.Abs(lossA[s]);
            Assert.True(rel <= 1e-3, $"{variant} step {s}: managed {lossA[s]:R}, torch {lossB[s]:R}, relative {rel:E3}");
        }
    }

    [Fact]
    public void Backward_WithoutTrainingForward_IsRefused()
    {
        using var torch = Build("torch", Variant.Lstm, 1);
        var y = new float[B * C];
        torch.Forward(Input(B, T, D, "x"), B, T, y, training: false);
        Assert.Throws<InvalidOperationException>(() => torch.Backward(new float[B * C]));
    }

    [Fact]
    public void Forward_NonFiniteInput_NamesThePosition()
    {
        using var torch = Build("torch", Variant.Gru, 1);
        var x = Input(B, T, D, "x");
        x[(2 * T * D) + (3 * D) + 4] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => torch.Forward(x, B, T, new float[B * C], training: false));
        Assert.Contains("[batch 2, step 3, feature 4]", e.Message, StringComparison.Ordinal);
    }

    private static double[] Train(IRecurrentNetwork net)
    {
        var adam = new Adam(net.Parameters, lr: 0.01f);
        var losses = new double[50];
        var logits = new float[B * C];
        var dLogits = new float[B * C];
        for (int s = 0; s < losses.Length; s++)
        {
            var x = Input(B, T, D, $"x{s % 5}");
            var labels = Labels(B, $"y{s % 5}");
            net.Forward(x, B, T, logits, training: true);
            losses[s] = Losses.SoftmaxCrossEntropy(logits, labels, B, C, dLogits);
            net.Backward(dLogits);
            GradientClipping.ClipGlobalNorm(net.Parameters, 5f);
            adam.Step();
        }

        return losses;
    }

    private static IRecurrentNetwork Build(string engine, Variant variant, int layers)
    {
        var net = ModelEngines.Create(engine, new RecurrentModelConfig(variant, D, H, layers, C));
        ParameterInit.Initialize(net, new Rng(s_seed).Split("init"), T);
        return net;
    }

    private static float[] Input(int batch, int steps, int input, string stream)
    {
        var rng = new Rng(s_seed).Split(stream);
        var x = new float[batch * steps * input];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        return x;
    }

    private static int[] Labels(int batch, string stream)
    {
        var rng = new Rng(s_seed).Split(stream);
        return Enumerable.Range(0, batch).Select(_ => rng.NextInt(C)).ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            Assert.True(diff <= tolerance, $"{what} [{i}]: managed {expected[i]:R}, torch {actual[i]:R}, |Δ| {diff:E3} > {tolerance:E0} (seed {s_seed})");
        }
    }
}
