using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Tests.Reference;

/// <summary>A named float64 tensor of the reference model (same name and shape as the float32 <see cref="Parameter"/>).</summary>
internal sealed class RefParameter(string name, int[] shape)
{
    public string Name { get; } = name;

    public int[] Shape { get; } = shape;

    public double[] Value { get; } = new double[shape.Aggregate(1, (a, b) => a * b)];

    public double[] Gradient { get; } = new double[shape.Aggregate(1, (a, b) => a * b)];
}

/// <summary>
/// Float64 reference of every variant in DESIGN.md §4: plain loops written straight from the equations,
/// forward and hand-derived backward through time, stacked layers and a linear head. Slow on purpose:
/// no fusion, no GEMM, no shared code with the fast engine, so agreement means something.
/// </summary>
internal sealed class ReferenceModel
{
    private readonly List<RefParameter> _parameters = [];
    private readonly Dictionary<string, RefParameter> _byName = new(StringComparer.Ordinal);

    // Forward caches, per layer: inputs x[b,t,:], h_{t}, c_{t} (t = 0 is the zero initial state), gate activations.
    private double[][] _layerInput = [];
    private double[][] _h = [];
    private double[][] _c = [];
    private double[][] _act = [];
    private double[][] _hhN = [];
    private int _batch;
    private int _steps;

    public ReferenceModel(RecurrentModelConfig config)
    {
        Config = config.Validate();
        int g = config.Variant.GateCount();
        int h = config.Hidden;
        for (int k = 0; k < config.Layers; k++)
        {
            int d = k == 0 ? config.InputSize : h;
            Add($"rnn.weight_ih_l{k}", g * h, d);
            Add($"rnn.weight_hh_l{k}", g * h, h);
            Add($"rnn.bias_ih_l{k}", g * h);
            Add($"rnn.bias_hh_l{k}", g * h);
            if (config.Variant == Variant.UrLstm)
            {
                Add($"rnn.forget_bias_l{k}", h);
            }
        }

        Add("head.weight", config.Outputs, h);
        Add("head.bias", config.Outputs);
    }

    public RecurrentModelConfig Config { get; }

    public IReadOnlyList<RefParameter> Parameters => _parameters;

    public RefParameter this[string name] => _byName[name];

    /// <summary>Fills every tensor with U(−scale, scale) from <paramref name="rng"/>.</summary>
    public void Randomize(Rng rng, double scale)
    {
        foreach (var p in _parameters)
        {
            for (int i = 0; i < p.Value.Length; i++)
            {
                p.Value[i] = rng.Uniform(-scale, scale);
            }
        }
    }

    /// <summary>Copies values from float32 parameters with the same names and shapes.</summary>
    public void CopyFrom(IEnumerable<Parameter> parameters)
    {
        int count = 0;
        foreach (var p in parameters)
        {
            var r = _byName[p.Name];
            Assert.Equal(r.Shape, p.Shape);
            for (int i = 0; i < r.Value.Length; i++)
            {
                r.Value[i] = p.Value[i];
            }

            count++;
        }

        Assert.Equal(_parameters.Count, count);
    }

    /// <summary>Copies values from named float32 tensors (every reference tensor must be present).</summary>
    public void CopyFrom(IReadOnlyDictionary<string, float[]> tensors)
    {
        Assert.Equal(_parameters.Count, tensors.Count);
        foreach (var p in _parameters)
        {
            var values = tensors[p.Name];
            Assert.Equal(p.Value.Length, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                p.Value[i] = values[i];
            }
        }
    }

    /// <summary>x [B,T,D] → logits [B,C] from the last step's top h.</summary>
    public double[] Forward(double[] x, int batch, int steps)
    {
        var cfg = Config;
        int hdim = cfg.Hidden;
        int g = cfg.Variant.GateCount();
        Assert.Equal(batch * steps * cfg.InputSize, x.Length);
        _batch = batch;
        _steps = steps;
        _layerInput = new double[cfg.Layers][];
        _h = new double[cfg.Layers][];
        _c = new double[cfg.Layers][];
        _act = new double[cfg.Layers][];
        _hhN = new double[cfg.Layers][];
        double[] input = x;
        for (int k = 0; k < cfg.Layers; k++)
        {
            int d = k == 0 ? cfg.InputSize : hdim;
            _layerInput[k] = input;
            var wih = this[$"rnn.weight_ih_l{k}"].Value;
            var whh = this[$"rnn.weight_hh_l{k}"].Value;
            var bih = this[$"rnn.bias_ih_l{k}"].Value;
            var bhh = this[$"rnn.bias_hh_l{k}"].Value;
            var fb = cfg.Variant == Variant.UrLstm ? this[$"rnn.forget_bias_l{k}"].Value : null;

            // h[b, t, j] for t in 0..T (t = 0 initial zeros), same for c.
            var hs = new double[batch * (steps + 1) * hdim];
            var cs = new double[batch * (steps + 1) * hdim];
            var act = new double[batch * steps * g * hdim];
            var hhN = new double[batch * steps * hdim];
            var zi = new double[g * hdim];
            var zh = new double[g * hdim];
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < steps; t++)
                {
                    int hPrev = ((b * (steps + 1)) + t) * hdim;
                    int hNext = hPrev + hdim;
                    int xo = ((b * steps) + t) * d;
                    for (int r = 0; r < g * hdim; r++)
                    {
                        double si = bih[r];
                        for (int j = 0; j < d; j++)
                        {
                            si += wih[(r * d) + j] * input[xo + j];
                        }

                        double sh = bhh[r];
                        for (int j = 0; j < hdim; j++)
                        {
                            sh += whh[(r * hdim) + j] * hs[hPrev + j];
                        }

                        zi[r] = si;
                        zh[r] = sh;
                    }

                    int ao = ((b * steps) + t) * g * hdim;
                    for (int j = 0; j < hdim; j++)
                    {
                        double cPrev = cs[hPrev + j];
                        double hp = hs[hPrev + j];
                        double c, h;
                        switch (cfg.Variant)
                        {
                            case Variant.Lstm or Variant.LstmFb1 or Variant.Chrono:
                            {
                                double i = Sigmoid(zi[j] + zh[j]);
                                double f = Sigmoid(zi[hdim + j] + zh[hdim + j]);
                                double gg = Math.Tanh(zi[(2 * hdim) + j] + zh[(2 * hdim) + j]);
                                double o = Sigmoid(zi[(3 * hdim) + j] + zh[(3 * hdim) + j]);
                                c = (f * cPrev) + (i * gg);
                                h = o * Math.Tanh(c);
                                act[ao + j] = i;
                                act[ao + hdim + j] = f;
                                act[ao + (2 * hdim) + j] = gg;
                                act[ao + (3 * hdim) + j] = o;
                                break;
                            }

                            case Variant.Cifg:
                            {
                                double f = Sigmoid(zi[j] + zh[j]);
                                double gg = Math.Tanh(zi[hdim + j] + zh[hdim + j]);
                                double o = Sigmoid(zi[(2 * hdim) + j] + zh[(2 * hdim) + j]);
                                c = (f * cPrev) + ((1 - f) * gg);
                                h = o * Math.Tanh(c);
                                act[ao + j] = f;
                                act[ao + hdim + j] = gg;
                                act[ao + (2 * hdim) + j] = o;
                                break;
                            }

                            case Variant.Gru:
                            {
                                double r = Sigmoid(zi[j] + zh[j]);
                                double z = Sigmoid(zi[hdim + j] + zh[hdim + j]);
                                double hn = zh[(2 * hdim) + j];
                                double n = Math.Tanh(zi[(2 * hdim) + j] + (r * hn));
                                h = ((1 - z) * n) + (z * hp);
                                c = 0;
                                act[ao + j] = r;
                                act[ao + hdim + j] = z;
                                act[ao + (2 * hdim) + j] = n;
                                hhN[(((b * steps) + t) * hdim) + j] = hn;
                                break;
                            }

                            case Variant.UrLstm:
                            {
                                double phi = Sigmoid(zi[j] + zh[j] + fb![j]);
                                double rho = Sigmoid(zi[hdim + j] + zh[hdim + j] - fb[j]);
                                double u = Math.Tanh(zi[(2 * hdim) + j] + zh[(2 * hdim) + j]);
                                double o = Sigmoid(zi[(3 * hdim) + j] + zh[(3 * hdim) + j]);
                                double gamma = (rho * (1 - ((1 - phi) * (1 - phi)))) + ((1 - rho) * phi * phi);
                                c = (gamma * cPrev) + ((1 - gamma) * u);
                                h = o * Math.Tanh(c);
                                act[ao + j] = phi;
                                act[ao + hdim + j] = rho;
                                act[ao + (2 * hdim) + j] = u;
                                act[ao + (3 * hdim) + j] = o;
                                break;
                            }

                            default:
                                throw new NotSupportedException(cfg.Variant.ToString());
                        }

                        cs[hNext + j] = c;
                        hs[hNext + j] = h;
                    }
                }
            }

            _h[k] = hs;
            _c[k] = cs;
            _act[k] = act;
            _hhN[k] = hhN;

            // The next layer's input is this layer's h sequence, [B,T,H].
            var next = new double[batch * steps * hdim];
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < steps; t++)
                {
                    Array.Copy(hs, ((b * (steps + 1)) + t + 1) * hdim, next, ((b * steps) + t) * hdim, hdim);
                }
            }

            input = next;
        }

        var logits = new double[batch * cfg.Outputs];
        var hw = this["head.weight"].Value;
        var hb = this["head.bias"].Value;
        var top = _h[cfg.Layers - 1];
        for (int b = 0; b < batch; b++)
        {
            int ho = ((b * (steps + 1)) + steps) * hdim;
            for (int o = 0; o < cfg.Outputs; o++)
            {
                double s = hb[o];
                for (int j = 0; j < hdim; j++)
                {
                    s += hw[(o * hdim) + j] * top[ho + j];
                }

                logits[(b * cfg.Outputs) + o] = s;
            }
        }

        return logits;
    }

    /// <summary>Backward through time from dLogits [B,C]; overwrites every gradient. Returns dx [B,T,D].</summary>
    public double[] Backward(double[] dLogits)
    {
        var cfg = Config;
        int batch = _batch, steps = _steps, hdim = cfg.Hidden, g = cfg.Variant.GateCount();
        foreach (var p in _parameters)
        {
            Array.Clear(p.Gradient);
        }

        // Head.
        var hw = this["head.weight"];
        var hb = this["head.bias"];
        var top = _h[cfg.Layers - 1];
        var dTop = new double[batch * steps * hdim]; // dL/dh of the top layer's output sequence
        for (int b = 0; b < batch; b++)
        {
            int ho = ((b * (steps + 1)) + steps) * hdim;
            for (int o = 0; o < cfg.Outputs; o++)
            {
                double dl = dLogits[(b * cfg.Outputs) + o];
                hb.Gradient[o] += dl;
                for (int j = 0; j < hdim; j++)
                {
                    hw.Gradient[(o * hdim) + j] += dl * top[ho + j];
                    dTop[(((b * steps) + steps - 1) * hdim) + j] += dl * hw.Value[(o * hdim) + j];
                }
            }
        }

        double[] dOut = dTop;
        for (int k = cfg.Layers - 1; k >= 0; k--)
        {
            int d = k == 0 ? cfg.InputSize : hdim;
            var x = _layerInput[k];
            var hs = _h[k];
            var cs = _c[k];
            var act = _act[k];
            var hhN = _hhN[k];
            var wih = this[$"rnn.weight_ih_l{k}"];
            var whh = this[$"rnn.weight_hh_l{k}"];
            var bih = this[$"rnn.bias_ih_l{k}"];
            var bhh = this[$"rnn.bias_hh_l{k}"];
            var fb = cfg.Variant == Variant.UrLstm ? this[$"rnn.forget_bias_l{k}"] : null;
            var dx = new double[batch * steps * d];
            var dzi = new double[g * hdim];
            var dzh = new double[g * hdim];
            for (int b = 0; b < batch; b++)
            {
                var dhNext = new double[hdim]; // from step t+1 through W_hh (and GRU's direct path)
                var dcNext = new double[hdim];
                for (int t = steps - 1; t >= 0; t--)
                {
                    int hPrev = ((b * (steps + 1)) + t) * hdim;
                    int hNext = hPrev + hdim;
                    int ao = ((b * steps) + t) * g * hdim;
                    var dhPrev = new double[hdim];
                    var dcPrev = new double[hdim];
                    for (int j = 0; j < hdim; j++)
                    {
                        double dh = dOut[(((b * steps) + t) * hdim) + j] + dhNext[j];
                        double cPrev = cs[hPrev + j];
                        double c = cs[hNext + j];
                        switch (cfg.Variant)
                        {
                            case Variant.Lstm or Variant.LstmFb1 or Variant.Chrono:
                            {
                                double i = act[ao + j], f = act[ao + hdim + j], gg = act[ao + (2 * hdim) + j], o = act[ao + (3 * hdim) + j];
                                double tc = Math.Tanh(c);
                                double dc = dcNext[j] + (dh * o * (1 - (tc * tc)));
                                dzi[j] = dc * gg * i * (1 - i);
                                dzi[hdim + j] = dc * cPrev * f * (1 - f);
                                dzi[(2 * hdim) + j] = dc * i * (1 - (gg * gg));
                                dzi[(3 * hdim) + j] = dh * tc * o * (1 - o);
                                dcPrev[j] = dc * f;
                                break;
                            }

                            case Variant.Cifg:
                            {
                                double f = act[ao + j], gg = act[ao + hdim + j], o = act[ao + (2 * hdim) + j];
                                double tc = Math.Tanh(c);
                                double dc = dcNext[j] + (dh * o * (1 - (tc * tc)));
                                dzi[j] = dc * (cPrev - gg) * f * (1 - f);
                                dzi[hdim + j] = dc * (1 - f) * (1 - (gg * gg));
                                dzi[(2 * hdim) + j] = dh * tc * o * (1 - o);
                                dcPrev[j] = dc * f;
                                break;
                            }

                            case Variant.Gru:
                            {
                                double r = act[ao + j], z = act[ao + hdim + j], n = act[ao + (2 * hdim) + j];
                                double hp = hs[hPrev + j];
                                double dan = dh * (1 - z) * (1 - (n * n));
                                double dr = dan * hhN[(((b * steps) + t) * hdim) + j];
                                double dar = dr * r * (1 - r);
                                double daz = dh * (hp - n) * z * (1 - z);
                                dzi[j] = dar;
                                dzi[hdim + j] = daz;
                                dzi[(2 * hdim) + j] = dan;
                                dhPrev[j] += dh * z; // direct path h' = … + z ⊙ h
                                dzh[(2 * hdim) + j] = dan * r; // r multiplies W_hn h + b_hn
                                break;
                            }

                            case Variant.UrLstm:
                            {
                                double phi = act[ao + j], rho = act[ao + hdim + j], u = act[ao + (2 * hdim) + j], o = act[ao + (3 * hdim) + j];
                                double gamma = (2 * rho * phi) + ((1 - (2 * rho)) * phi * phi);
                                double tc = Math.Tanh(c);
                                double dc = dcNext[j] + (dh * o * (1 - (tc * tc)));
                                double dGamma = dc * (cPrev - u);
                                double dPhiPre = dGamma * ((2 * rho) + (2 * (1 - (2 * rho)) * phi)) * phi * (1 - phi);
                                double dRhoPre = dGamma * ((2 * phi) - (2 * phi * phi)) * rho * (1 - rho);
                                dzi[j] = dPhiPre;
                                dzi[hdim + j] = dRhoPre;
                                dzi[(2 * hdim) + j] = dc * (1 - gamma) * (1 - (u * u));
                                dzi[(3 * hdim) + j] = dh * tc * o * (1 - o);
                                fb!.Gradient[j] += dPhiPre - dRhoPre;
                                dcPrev[j] = dc * gamma;
                                break;
                            }

                            default:
                                throw new NotSupportedException(cfg.Variant.ToString());
                        }
                    }

                    // Hidden-side pre-activation gradients equal the input side except GRU's n block.
                    for (int r = 0; r < g * hdim; r++)
                    {
                        if (!(cfg.Variant == Variant.Gru && r >= 2 * hdim))
                        {
                            dzh[r] = dzi[r];
                        }
                    }

                    int xo = ((b * steps) + t) * d;
                    for (int r = 0; r < g * hdim; r++)
                    {
                        bih.Gradient[r] += dzi[r];
                        bhh.Gradient[r] += dzh[r];
                        for (int j = 0; j < d; j++)
                        {
                            wih.Gradient[(r * d) + j] += dzi[r] * x[xo + j];
                            dx[xo + j] += dzi[r] * wih.Value[(r * d) + j];
                        }

                        for (int j = 0; j < hdim; j++)
                        {
                            whh.Gradient[(r * hdim) + j] += dzh[r] * hs[hPrev + j];
                            dhPrev[j] += dzh[r] * whh.Value[(r * hdim) + j];
                        }
                    }

                    dhNext = dhPrev;
                    dcNext = dcPrev;
                }
            }

            dOut = dx;
        }

        return dOut;
    }

    /// <summary>
    /// The effective forget gate of <paramref name="layer"/> at every (b, t, unit) of the last forward,
    /// [B,T,H]: σ(f) for the LSTM family and cifg, z for gru, γ for ur-lstm (DESIGN.md §4, gate telemetry).
    /// </summary>
    public double[] ForgetGates(int layer)
    {
        int hdim = Config.Hidden, g = Config.Variant.GateCount();
        var act = _act[layer];
        var result = new double[_batch * _steps * hdim];
        for (int bt = 0; bt < _batch * _steps; bt++)
        {
            for (int j = 0; j < hdim; j++)
            {
                int a = (bt * g * hdim) + j;
                result[(bt * hdim) + j] = Config.Variant switch
                {
                    Variant.Cifg => act[a],
                    Variant.Gru => act[a + hdim],
                    Variant.UrLstm => (2 * act[a + hdim] * act[a]) + ((1 - (2 * act[a + hdim])) * act[a] * act[a]),
                    _ => act[a + hdim],
                };
            }
        }

        return result;
    }

    /// <summary>Mean softmax cross-entropy in float64; writes dLogits.</summary>
    public static double CrossEntropy(double[] logits, int[] labels, int batch, int classes, double[] dLogits)
    {
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++)
            {
                max = Math.Max(max, logits[(b * classes) + c]);
            }

            double sum = 0;
            for (int c = 0; c < classes; c++)
            {
                sum += Math.Exp(logits[(b * classes) + c] - max);
            }

            double lse = max + Math.Log(sum);
            total += lse - logits[(b * classes) + labels[b]];
            for (int c = 0; c < classes; c++)
            {
                dLogits[(b * classes) + c] = (Math.Exp(logits[(b * classes) + c] - lse) - (c == labels[b] ? 1 : 0)) / batch;
            }
        }

        return total / batch;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private void Add(string name, params int[] shape)
    {
        var p = new RefParameter(name, shape);
        _parameters.Add(p);
        _byName.Add(name, p);
    }
}
