using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Models;

public sealed class RecurrentModelInitTests
{
    [Fact]
    public void Parameters_TwoLayerUrLstm_FollowStateDictOrderAndShapes()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.UrLstm, 7, 5, 2, 3));
        string[] expected =
        [
            "rnn.weight_ih_l0 [20, 7]", "rnn.weight_hh_l0 [20, 5]", "rnn.bias_ih_l0 [20]", "rnn.bias_hh_l0 [20]", "rnn.forget_bias_l0 [5]",
            "rnn.weight_ih_l1 [20, 5]", "rnn.weight_hh_l1 [20, 5]", "rnn.bias_ih_l1 [20]", "rnn.bias_hh_l1 [20]", "rnn.forget_bias_l1 [5]",
            "head.weight [3, 5]", "head.bias [3]",
        ];
        Assert.Equal(expected, model.Parameters.Select(p => p.ToString()));
    }

    [Fact]
    public void Parameters_Gru_HaveThreeGateBlocksAndNoForgetBias()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Gru, 4, 6, 1, 2));
        Assert.Equal(["rnn.weight_ih_l0 [18, 4]", "rnn.weight_hh_l0 [18, 6]", "rnn.bias_ih_l0 [18]", "rnn.bias_hh_l0 [18]", "head.weight [2, 6]", "head.bias [2]"],
            model.Parameters.Select(p => p.ToString()));
    }

    [Fact]
    public void GetParameter_UnknownName_ListsKnownNames()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2));
        var ex = Assert.Throws<ArgumentException>(() => model.GetParameter("rnn.weight_ih_l9"));
        Assert.Contains("rnn.weight_ih_l9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rnn.weight_hh_l0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("head.bias", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initialize_Lstm_EveryValueInsidePyTorchBound()
    {
        using var model = ModelTestData.Create(Variant.Lstm, 5, 16, 2, 4, 10);
        float bound = 1f / MathF.Sqrt(16);
        foreach (var p in model.Parameters)
        {
            Assert.All(p.Value, v => Assert.InRange(v, -bound, bound));

            // A uniform fill of ≥ 4 values is not constant (would catch a missing fill).
            Assert.True(p.Value.Distinct().Count() > 1, p.Name);
        }
    }

    [Fact]
    public void Initialize_LstmFb1_ForgetBiasIhIsOneAndHhIsZero()
    {
        const int h = 6;
        using var model = ModelTestData.Create(Variant.LstmFb1, 3, h, 2, 2, 10);
        for (int k = 0; k < 2; k++)
        {
            var bih = model.GetParameter($"rnn.bias_ih_l{k}").Value;
            var bhh = model.GetParameter($"rnn.bias_hh_l{k}").Value;
            Assert.All(bih.AsSpan(h, h).ToArray(), v => Assert.Equal(1f, v));
            Assert.All(bhh.AsSpan(h, h).ToArray(), v => Assert.Equal(0f, v));

            // the other gates keep the default init
            Assert.Contains(bih.AsSpan(0, h).ToArray(), v => v != 0f && v != 1f);
            Assert.Contains(bhh.AsSpan(3 * h, h).ToArray(), v => v != 0f);
        }
    }

    [Fact]
    public void Initialize_Chrono_ForgetBiasIsLogUniformAndInputBiasItsNegation()
    {
        const int h = 64;
        const int steps = 28;
        using var model = ModelTestData.Create(Variant.Chrono, 3, h, 1, 2, steps);
        var bih = model.GetParameter("rnn.bias_ih_l0").Value;
        var bhh = model.GetParameter("rnn.bias_hh_l0").Value;
        var bf = bih.AsSpan(h, h).ToArray();
        Assert.All(bf, v => Assert.InRange(v, 0f, MathF.Log(steps - 1) + 1e-6f));
        for (int u = 0; u < h; u++)
        {
            Assert.Equal(-bf[u], bih[u]);
        }

        Assert.All(bih.AsSpan(2 * h, 2 * h).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bhh, v => Assert.Equal(0f, v));

        // exp(b_f) ~ U(1, 27): its mean is 14; 64 draws have a standard error of 7.5/8 ≈ 0.94, so ±4 is > 4σ.
        Assert.InRange(bf.Average(v => Math.Exp(v)), 10.0, 18.0);
    }

    [Fact]
    public void Initialize_UrLstm_ForgetBiasIsLogitOfUniform()
    {
        const int h = 200;
        using var model = ModelTestData.Create(Variant.UrLstm, 3, h, 1, 2, 10);
        var fb = model.GetParameter("rnn.forget_bias_l0").Value;
        var u = fb.Select(b => 1.0 / (1.0 + Math.Exp(-b))).ToArray();
        Assert.All(u, v => Assert.InRange(v, (1.0 / h) - 1e-6, 1 - (1.0 / h) + 1e-6));

        // u ~ U(0.005, 0.995): mean 0.5 (standard error 0.02 for 200 draws) and spread far beyond the default bound 1/√H.
        Assert.InRange(u.Average(), 0.42, 0.58);
        Assert.True(fb.Max() > 2f && fb.Min() < -2f);

        // the ordinary biases keep the default init
        float bound = 1f / MathF.Sqrt(h);
        Assert.All(model.GetParameter("rnn.bias_ih_l0").Value, v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void Initialize_SameSeed_SameValues()
    {
        using var a = ModelTestData.Create(Variant.Chrono, 3, 7, 2, 2, 12);
        using var b = ModelTestData.Create(Variant.Chrono, 3, 7, 2, 2, 12);
        using var c = new RecurrentModel(a.Config);
        c.Initialize(new Rng(ModelTestData.Seed + 1).Split("model"), 12);
        for (int i = 0; i < a.Parameters.Count; i++)
        {
            Assert.Equal(a.Parameters[i].Value, b.Parameters[i].Value);
        }

        Assert.NotEqual(a.Parameters[0].Value, c.Parameters[0].Value);
    }
}
