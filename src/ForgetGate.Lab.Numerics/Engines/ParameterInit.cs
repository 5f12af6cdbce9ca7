using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>
/// The one initialiser every engine's parameters go through (DESIGN.md §4), so that every engine starts a run from
/// bit-identical values: the draws happen here, on host buffers, in state_dict order, and an engine only copies them.
/// </summary>
public static class ParameterInit
{
    /// <summary>
    /// The base draw of <see cref="RecurrentModelConfig.Init"/> for every parameter (head included), in state_dict
    /// order, then the variant's (or cell file's) bias rule: rules write bias_ih and zero the same slice of bias_hh.
    /// <see cref="ParameterInitKind.Rnn"/>: PyTorch's nn.LSTM/nn.GRU init, U(−1/√H, 1/√H) on every tensor.
    /// <see cref="ParameterInitKind.Linear"/>: what a hand-written cell of nn.Linear layers starts from, see there.
    /// </summary>
    public static void Initialize(RecurrentModelConfig config, IReadOnlyList<Parameter> parameters, Rng rng, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        float bound = 1f / MathF.Sqrt(config.Hidden);
        foreach (var p in parameters)
        {
            if (config.Init == ParameterInitKind.Linear && LinearBound(config, p.Name) is { } linear)
            {
                // NaN marks a hidden-side bias: nn.Linear(H, G·H, bias=False) has none, so it starts (and, being
                // the same function, is equivalent to being absent) at zero. No draw is spent on it.
                if (float.IsNaN(linear))
                {
                    Array.Clear(p.Value);
                }
                else
                {
                    rng.FillUniform(p.Value, -linear, linear);
                }

                continue;
            }

            rng.FillUniform(p.Value, -bound, bound);
        }

        int h = config.Hidden;
        if (config.Cell is not null)
        {
            InitializeCell(config, parameters, rng, sequenceLength);
            return;
        }

        for (int k = 0; k < config.Layers; k++)
        {
            var bih = Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.bias_ih_l{k}")).Value;
            var bhh = Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.bias_hh_l{k}")).Value;
            switch (config.Variant)
            {
                case Variant.LstmFb1:
                    bih.AsSpan(h, h).Fill(1f);
                    bhh.AsSpan(h, h).Clear();
                    break;
                case Variant.Chrono:
                    // b_f = log(U(1, T_max − 1)), b_i = −b_f, every other bias 0. For T ≤ 2 the interval is
                    // empty or a point, so the upper end is clamped to 1 (b_f = 0), the no-memory limit.
                    double upper = Math.Max(1.0, sequenceLength - 1.0);
                    Array.Clear(bih);
                    Array.Clear(bhh);
                    for (int u = 0; u < h; u++)
                    {
                        float bf = (float)Math.Log(rng.Uniform(1.0, upper));
                        bih[h + u] = bf;
                        bih[u] = -bf;
                    }

                    break;
                case Variant.UrLstm:
                    // u ~ U(1/H, 1 − 1/H), b = −log(1/u − 1) (the logit of u); for H ≤ 2 the interval is a point
                    // or reversed, so u = 1/2 (b = 0).
                    var fb = Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.forget_bias_l{k}")).Value;
                    double lo = 1.0 / h;
                    double hi = 1.0 - (1.0 / h);
                    for (int u = 0; u < h; u++)
                    {
                        double uu = hi > lo ? rng.Uniform(lo, hi) : 0.5;
                        fb[u] = (float)-Math.Log((1.0 / uu) - 1.0);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>
    /// A cell file's rules (DESIGN.md §4b) after the default draw, layer by layer: each block's bias init writes its
    /// slice of bias_ih and zeroes that block's slice of bias_hh (PyTorch adds the two); then each param's init.
    /// </summary>
    private static void InitializeCell(RecurrentModelConfig config, IReadOnlyList<Parameter> parameters, Rng rng, int sequenceLength)
    {
        var cell = config.Cell!;
        int h = config.Hidden;
        for (int k = 0; k < config.Layers; k++)
        {
            var bih = Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.bias_ih_l{k}")).Value;
            var bhh = cell.HasRecurrentWeights ? Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.bias_hh_l{k}")).Value : [];
            for (int g = 0; g < cell.Blocks.Length; g++)
            {
                var rule = cell.BlockInits[g];
                if (rule.Kind == CellInitKind.Default)
                {
                    continue;
                }

                rule.Fill(bih.AsSpan(g * h, h), sequenceLength, rng);
                int r = cell.RecurrentBlocks.IndexOf(g);
                if (r >= 0)
                {
                    bhh.AsSpan(r * h, h).Clear();
                }
            }

            for (int p = 0; p < cell.Params.Length; p++)
            {
                var values = Find(parameters, string.Create(CultureInfo.InvariantCulture, $"rnn.{cell.Params[p]}_l{k}")).Value;
                cell.ParamInits[p].Fill(values, sequenceLength, rng);
            }
        }
    }

    /// <summary>
    /// The <see cref="ParameterInitKind.Linear"/> bound of a layer's input-side tensors, 1/√(fan_in) with fan_in the
    /// layer's input width (D for layer 0, H above it); NaN for a hidden-side bias (zero); null where linear draws
    /// what rnn draws (weight_hh and the head: their fan_in is H; per-unit params such as ur-lstm's forget_bias or a
    /// cell's params, which their own rule overwrites or which keep U(−1/√H, 1/√H)).
    /// </summary>
    private static float? LinearBound(RecurrentModelConfig config, string name)
    {
        for (int k = 0; k < config.Layers; k++)
        {
            int fanIn = k == 0 ? config.InputSize : config.Hidden;
            string layer = string.Create(CultureInfo.InvariantCulture, $"_l{k}");
            if (name == "rnn.weight_ih" + layer || name == "rnn.bias_ih" + layer)
            {
                return 1f / MathF.Sqrt(fanIn);
            }

            if (name == "rnn.bias_hh" + layer)
            {
                return float.NaN;
            }
        }

        return null;
    }

    /// <summary>Initialises <paramref name="network"/>'s parameters in place; see the overload.</summary>
    public static void Initialize(IRecurrentNetwork network, Rng rng, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(network);
        Initialize(network.Config, network.Parameters, rng, sequenceLength);
    }

    /// <summary>The parameter with this state_dict name; the error lists the known names.</summary>
    public static Parameter Find(IReadOnlyList<Parameter> parameters, string name)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var p in parameters)
        {
            if (p.Name == name)
            {
                return p;
            }
        }

        throw new ArgumentException($"Unknown parameter '{name}'; known names: {string.Join(", ", parameters.Select(p => p.Name))}.", nameof(name));
    }
}

/// <summary>
/// <c>model.init</c>: the base distribution of a model's parameters before the variant's bias rule (issue 13: both
/// conventions are in use, and a CIFG learns measurably differently under each).
/// </summary>
public enum ParameterInitKind
{
    /// <summary>
    /// PyTorch's recurrent-module init (nn.LSTM, nn.GRU): every weight and bias U(−1/√H, 1/√H), both biases drawn.
    /// The default, and what every run stored before model.init existed used.
    /// </summary>
    Rnn,

    /// <summary>
    /// A hand-written cell of nn.Linear layers, <c>x2h = nn.Linear(D_k, G·H)</c> and <c>h2h = nn.Linear(H, G·H, bias=False)</c>:
    /// weight_ih and bias_ih U(−1/√D_k, 1/√D_k) (D_0 = the input width, 28 for an image row; D_k = H above), weight_hh
    /// U(−1/√H, 1/√H), bias_hh 0 (the one bias is the input side's); the head, nn.Linear(H, C) either way, is unchanged.
    /// nn.Linear draws its weight by kaiming_uniform_(a = √5), whose bound is exactly 1/√fan_in. bias_hh stays in the
    /// layout (PyTorch's nn.LSTM one) and trains like any parameter, so after the first step the two biases move
    /// together where a one-bias cell has one: the starting function is the hand-written cell's, the bias's Adam step
    /// size is not. Golden: tests/…/Golden/data/make_init_golden.py.
    /// </summary>
    Linear,
}

/// <summary>Names of <see cref="ParameterInitKind"/> as written in specs.</summary>
public static class ParameterInitKinds
{
    /// <summary>Every init's spec name, default first.</summary>
    public static IReadOnlyList<string> Names { get; } = ["rnn", "linear"];

    /// <summary>The spec name (<c>rnn</c>, <c>linear</c>).</summary>
    public static string Name(this ParameterInitKind kind) => kind switch
    {
        ParameterInitKind.Rnn => "rnn",
        ParameterInitKind.Linear => "linear",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown init."),
    };

    /// <summary>One line on what the init draws, for reports and help (the enum's docs say why).</summary>
    public static string Describe(this ParameterInitKind kind) => kind switch
    {
        ParameterInitKind.Rnn => "PyTorch's nn.LSTM/nn.GRU init: every weight and both biases U(−1/√H, 1/√H)",
        ParameterInitKind.Linear => "a hand-written cell of nn.Linear layers: weight_ih and bias_ih U(−1/√D, 1/√D) (D the layer's input width), weight_hh U(−1/√H, 1/√H), bias_hh 0",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown init."),
    };

    /// <summary>Parses a spec name; the error lists the known ones.</summary>
    public static ParameterInitKind Parse(string name) => name switch
    {
        "rnn" => ParameterInitKind.Rnn,
        "linear" => ParameterInitKind.Linear,
        _ => throw new ArgumentException($"Unknown model.init '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name)),
    };
}
