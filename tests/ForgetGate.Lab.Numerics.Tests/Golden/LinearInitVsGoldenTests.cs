using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Numerics.Tests.Cells;

namespace ForgetGate.Lab.Numerics.Tests.Golden;

/// <summary>
/// <c>model.init: linear</c> against a hand-written PyTorch 1.13 CIFG built from nn.Linear layers
/// (Golden/data/make_init_golden.py writes init_linear_cifg.safetensors: PyTorch's own draws under our names,
/// the bound PyTorch computes for each, and which of our tensors the hand-written cell does not have).
/// </summary>
/// <remarks>
/// Tolerances, for n of our draws and m of PyTorch's from U(−b, b) (σ² = b²/3, fourth central moment b⁴/5):
/// every value within b (exact); the largest |x| above b(1 − 21/n), since P(max |x| &lt; b(1 − ε)) = (1 − ε)ⁿ ≤ e^(−εn)
/// = e^(−21) ≈ 1e-9 for a right bound; the mean within 5 standard errors b/√(3n); the variance within 5 standard
/// errors √((b⁴/5 − b⁴/9)/n) = b²·√(4/(45n)); and the two-sample Kolmogorov–Smirnov statistic below its
/// α = 1e-6 critical value √(ln(2/α)·(n + m)/(2nm)). Our draws use a fixed seed, so the test is deterministic;
/// the bounds say how unlikely a false failure is for any seed. A wrong bound fails them: 1/√64 instead of 1/√28
/// on weight_ih_l0 puts PyTorch's largest value (≈ 0.189) outside ours and the KS statistic near 0.34.
/// </remarks>
public sealed class LinearInitVsGoldenTests
{
    private const int D = 28;
    private const int H = 64;
    private const int C = 10;
    private const int Layers = 2;
    private const int Seeds = 8;

    private static SafetensorsFile Golden() => SafetensorsFile.Read(Path.Combine(GoldenFiles.Directory, "init_linear_cifg.safetensors"));

    [Fact]
    public void Linear_Cifg_DrawsTheHandWrittenPyTorchCellsDistribution()
    {
        var golden = Golden();
        Assert.Equal("D=28,H=64,C=10,layers=2,variant=cifg", golden.Metadata["shape"]);
        var config = new RecurrentModelConfig(Variant.Cifg, D, H, Layers, C) { Init = ParameterInitKind.Linear };
        var ours = Draw(config, Seeds);
        var absent = golden.Metadata["absent"].Split(',');

        // The same tensors: every golden tensor is one of ours; ours without a golden one are exactly the hidden-side
        // biases the hand-written cell lacks, and those start at zero (the same function as their absence).
        Assert.Equal(ours.Keys.Order(StringComparer.Ordinal), golden.Tensors.Select(t => t.Name).Concat(absent).Order(StringComparer.Ordinal));
        foreach (string name in absent)
        {
            Assert.All(ours[name], v => Assert.Equal(0f, v));
        }

        foreach (var tensor in golden.Tensors)
        {
            float[] torch = golden.GetFloat32(tensor.Name);
            float[] mine = ours[tensor.Name];
            double b = double.Parse(golden.Metadata["bound/" + tensor.Name], CultureInfo.InvariantCulture);
            string what = $"{tensor.Name} (bound {b:G6}, n = {mine.Length}, m = {torch.Length})";
            AssertUniform(torch, b, what + " PyTorch");
            AssertUniform(mine, b, what + " ours");
            double ks = KolmogorovSmirnov(mine, torch);
            double critical = Math.Sqrt(Math.Log(2 / 1e-6) * (mine.Length + torch.Length) / (2.0 * mine.Length * torch.Length));
            Assert.True(ks <= critical, $"{what}: KS statistic {ks:G4} above the α = 1e-6 critical value {critical:G4}");
        }
    }

    [Fact]
    public void Rnn_IsTheDefault_AndDrawsEveryTensorFromOneOverSqrtH()
    {
        var config = new RecurrentModelConfig(Variant.Cifg, D, H, Layers, C);
        Assert.Equal(ParameterInitKind.Rnn, config.Init);
        foreach (var (name, values) in Draw(config, Seeds))
        {
            AssertUniform(values, 1 / Math.Sqrt(H), $"rnn {name}");
        }
    }

    [Fact]
    public void Linear_ChangesOnlyTheInputSideAndTheHiddenBias_AndEqualityIgnoresIt()
    {
        // The head and weight_hh have fan_in H under both conventions; linear must leave them drawn from 1/√H.
        var rnn = new RecurrentModelConfig(Variant.Lstm, D, H, 1, C);
        var linear = rnn with { Init = ParameterInitKind.Linear };
        Assert.Equal(rnn, linear); // a checkpoint of either init loads into the other's model
        var a = Draw(rnn, 1);
        var b = Draw(linear, 1);
        Assert.NotEqual(a["rnn.weight_ih_l0"], b["rnn.weight_ih_l0"]);
        Assert.True(b["rnn.weight_ih_l0"].Max(MathF.Abs) > 1 / MathF.Sqrt(H), "linear's weight_ih must reach past 1/√H (its bound is 1/√28)");
        Assert.Contains(a["rnn.bias_hh_l0"], v => v != 0f);
        Assert.All(b["rnn.bias_hh_l0"], v => Assert.Equal(0f, v));
    }

    public static TheoryData<string, ParameterInitKind> VariantsAndInits()
    {
        var data = new TheoryData<string, ParameterInitKind>();
        foreach (string v in new[] { "lstm", "lstm-fb1", "cifg", "gru", "ur-lstm", "chrono", "lstm-generic", "slstm", "janet", "peephole", "minlstm" })
        {
            data.Add(v, ParameterInitKind.Rnn);
            data.Add(v, ParameterInitKind.Linear);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VariantsAndInits))]
    public void EveryVariantAndCell_EitherInit_DrawsItsBoundsThenItsBiasRule(string name, ParameterInitKind init)
    {
        var config = (Variants.TryParse(name, out var variant)
            ? new RecurrentModelConfig(variant, D, H, Layers, C)
            : RecurrentModelConfig.ForCell(CellGraph.Compile(CellGradientTests.Shipped(name)), D, H, Layers, C)) with { Init = init };
        var p = Draw(config, 1);
        for (int k = 0; k < Layers; k++)
        {
            string l = k.ToString(CultureInfo.InvariantCulture);
            double inputBound = init == ParameterInitKind.Linear ? 1 / Math.Sqrt(k == 0 ? D : H) : 1 / Math.Sqrt(H);
            AssertWithin(p["rnn.weight_ih_l" + l], inputBound, $"{name} {init} weight_ih_l{l}");
            if (p.TryGetValue("rnn.weight_hh_l" + l, out var whh))
            {
                AssertWithin(whh, 1 / Math.Sqrt(H), $"{name} {init} weight_hh_l{l}");
                if (init == ParameterInitKind.Linear)
                {
                    Assert.All(p["rnn.bias_hh_l" + l], v => Assert.Equal(0f, v));
                }
            }

            // The variant's bias rule is applied on top of either base draw.
            var bih = p["rnn.bias_ih_l" + l];
            switch (name)
            {
                case "lstm-fb1":
                    Assert.All(bih.AsSpan(H, H).ToArray(), v => Assert.Equal(1f, v));
                    break;
                case "chrono":
                    for (int u = 0; u < H; u++)
                    {
                        Assert.Equal(-bih[H + u], bih[u]);
                    }

                    Assert.All(bih.AsSpan(2 * H).ToArray(), v => Assert.Equal(0f, v));
                    break;
                case "janet":
                    // f: chrono, log U(1, T − 1) ≥ 0; g keeps the base draw.
                    Assert.All(bih.AsSpan(0, H).ToArray(), v => Assert.True(v >= 0f));
                    AssertWithin(bih.AsSpan(H, H).ToArray(), inputBound, $"{name} {init} bias_ih_l{l} (g)");
                    break;
                case "slstm":
                    Assert.Equal(3f, bih[H], 5);
                    Assert.Equal(6f, bih[(2 * H) - 1], 5);
                    break;
                default:
                    AssertWithin(bih, inputBound, $"{name} {init} bias_ih_l{l}");
                    break;
            }
        }

        AssertWithin(p["head.weight"], 1 / Math.Sqrt(H), $"{name} {init} head.weight");
    }

    /// <summary>Each parameter's values from <paramref name="seeds"/> independent initialisations, concatenated.</summary>
    private static Dictionary<string, float[]> Draw(RecurrentModelConfig config, int seeds)
    {
        var all = new Dictionary<string, List<float>>(StringComparer.Ordinal);
        for (int s = 0; s < seeds; s++)
        {
            using var model = new RecurrentModel(config);
            model.Initialize(new Rng(1300 + (ulong)s).Split("init"), D);
            foreach (var p in model.Parameters)
            {
                (all.TryGetValue(p.Name, out var list) ? list : all[p.Name] = []).AddRange(p.Value);
            }
        }

        return all.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
    }

    private static void AssertWithin(float[] values, double bound, string what)
    {
        float max = values.Max(MathF.Abs);
        Assert.True(max <= bound, $"{what}: max |x| {max:G6} above the bound {bound:G6}");
        Assert.True(max >= bound * (1 - (21.0 / values.Length)), $"{what}: max |x| {max:G6} far below the bound {bound:G6}");
    }

    private static void AssertUniform(float[] values, double b, string what)
    {
        AssertWithin(values, b, what);
        int n = values.Length;
        double mean = values.Average(v => (double)v);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double meanSe = b / Math.Sqrt(3.0 * n);
        double varSe = b * b * Math.Sqrt(4.0 / (45.0 * n));
        Assert.True(Math.Abs(mean) <= 5 * meanSe, $"{what}: mean {mean:G4} beyond 5 standard errors ({meanSe:G3}) of 0");
        Assert.True(Math.Abs(variance - (b * b / 3)) <= 5 * varSe, $"{what}: variance {variance:G5} beyond 5 standard errors ({varSe:G3}) of b²/3 = {b * b / 3:G5}");
    }

    /// <summary>The two-sample KS statistic sup |F_a − F_b|.</summary>
    private static double KolmogorovSmirnov(float[] a, float[] b)
    {
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        int i = 0, j = 0;
        double d = 0;
        while (i < x.Length && j < y.Length)
        {
            float v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] == v)
            {
                i++;
            }

            while (j < y.Length && y[j] == v)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / x.Length) - ((double)j / y.Length)));
        }

        return d;
    }
}
