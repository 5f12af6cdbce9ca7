using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Reference;

/// <summary>Each variant's initialisation rule (DESIGN.md §4) and gate telemetry on <see cref="RecurrentModel"/>.</summary>
public sealed class InitializationTests
{
    private const int D = 6;
    private const int H = 37;
    private const int T = 28;

    private static RecurrentModel Make(Variant variant, int layers = 2)
    {
        var model = new RecurrentModel(new RecurrentModelConfig(variant, D, H, layers, 5));
        model.Initialize(new Rng(99), T);
        return model;
    }

    private static ReadOnlySpan<float> Block(Parameter p, int gate) => p.Value.AsSpan(gate * H, H);

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.Cifg)]
    public void Initialize_DefaultVariants_EveryValueUniformWithinOneOverSqrtH(Variant variant)
    {
        using var model = Make(variant);
        float bound = 1f / MathF.Sqrt(H);
        foreach (var p in model.Parameters)
        {
            Assert.All(p.Value, v => Assert.InRange(v, -bound, bound));
            // U(-a, a) has standard deviation a/√3; a constant or badly scaled fill fails this.
            double sd = Math.Sqrt(p.Value.Select(v => (double)v * v).Average());
            Assert.InRange(sd, 0.6 * bound / Math.Sqrt(3), 1.4 * bound / Math.Sqrt(3));
        }
    }

    [Fact]
    public void Initialize_LstmFb1_ForgetBiasOneInBiasIhOnly()
    {
        using var model = Make(Variant.LstmFb1);
        for (int k = 0; k < 2; k++)
        {
            Assert.All(Block(model.GetParameter($"rnn.bias_ih_l{k}"), 1).ToArray(), v => Assert.Equal(1f, v));
            Assert.All(Block(model.GetParameter($"rnn.bias_hh_l{k}"), 1).ToArray(), v => Assert.Equal(0f, v));
            Assert.Contains(Block(model.GetParameter($"rnn.bias_hh_l{k}"), 0).ToArray(), v => v != 0f); // other gates keep the default
        }
    }

    [Fact]
    public void Initialize_Chrono_ForgetBiasLogUniformInputBiasNegatedOthersZero()
    {
        using var model = Make(Variant.Chrono);
        float max = MathF.Log(T - 1);
        for (int k = 0; k < 2; k++)
        {
            var bih = model.GetParameter($"rnn.bias_ih_l{k}");
            var bhh = model.GetParameter($"rnn.bias_hh_l{k}");
            var f = Block(bih, 1).ToArray();
            var i = Block(bih, 0).ToArray();
            Assert.All(f, v => Assert.InRange(v, 0f, max));
            Assert.True(f.Distinct().Count() > H / 2, "chrono forget biases should be distinct draws");
            for (int j = 0; j < H; j++)
            {
                Assert.Equal(-f[j], i[j]);
            }

            Assert.All(Block(bih, 2).ToArray(), v => Assert.Equal(0f, v));
            Assert.All(Block(bih, 3).ToArray(), v => Assert.Equal(0f, v));
            Assert.All(bhh.Value, v => Assert.Equal(0f, v)); // not doubled through bias_hh
        }
    }

    [Fact]
    public void Initialize_UrLstm_ForgetBiasFromUniformGateInit()
    {
        using var model = Make(Variant.UrLstm);
        // b = −log(1/u − 1) with u ~ U(1/H, 1 − 1/H) lies in [−log(H − 1), log(H − 1)].
        float bound = MathF.Log(H - 1) + 1e-5f;
        for (int k = 0; k < 2; k++)
        {
            var b = model.GetParameter($"rnn.forget_bias_l{k}").Value;
            Assert.All(b, v => Assert.InRange(v, -bound, bound));
            Assert.True(b.Max() - b.Min() > 2f, "forget biases should spread over the range");
        }
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Cifg)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.UrLstm)]
    public void CopyForgetGates_AfterForward_SameValuesAsReferenceEffectiveGate(Variant variant)
    {
        const int Batch = 3, Steps = 4;
        using var model = Make(variant);
        var reference = new ReferenceModel(model.Config);
        reference.CopyFrom(model.Parameters);
        var x = new float[Batch * Steps * D];
        new Rng(5).FillUniform(x, -1f, 1f);
        model.Forward(x, Batch, Steps, new float[Batch * 5], training: true);
        reference.Forward(x.Select(v => (double)v).ToArray(), Batch, Steps);
        for (int layer = 0; layer < 2; layer++)
        {
            var expected = reference.ForgetGates(layer);
            var dest = new float[expected.Length * 2];
            int n = model.CopyForgetGates(layer, dest);
            // Compared as sorted multisets so the test does not fix the [B,T,H] vs [T,B,H] layout.
            // Gates are in (0, 1) and float32-rounded: 1e-5 absolute is ≥ 10× the expected error.
            Assert.Equal(expected.Length, n);
            var a = dest.AsSpan(0, n).ToArray().Select(v => (double)v).Order().ToArray();
            var e = expected.Order().ToArray();
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(a[i] - e[i]) <= 1e-5, $"{variant} layer {layer} gate {i}: {a[i]} vs {e[i]}");
            }
        }
    }

    [Fact]
    public void Forward_TrainingFlag_DoesNotChangeLogits()
    {
        using var model = Make(Variant.Lstm);
        var x = new float[2 * 3 * D];
        new Rng(3).FillUniform(x, -1f, 1f);
        var a = new float[10];
        var b = new float[10];
        model.Forward(x, 2, 3, a, training: true);
        model.Forward(x, 2, 3, b, training: false);
        Assert.Equal(a, b);
    }
}
