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
    /// PyTorch default init U(−1/√H, 1/√H) for every parameter (head included), in state_dict order, then the variant's
    /// bias rule: rules write bias_ih and zero the same slice of bias_hh.
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
