using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

/// <summary>
/// A float64 stacked network of a cell file, written plainly from the definition (products as loops, the step by
/// <see cref="CellReference"/>), with its own backward through time: the reference the generic float32 layer is
/// compared with. Parameters in the checkpoint layout of DESIGN.md §4b.
/// </summary>
internal sealed class CellReferenceModel
{
    private readonly CellGraph _g;
    private readonly int _d;
    private readonly int _h;
    private readonly int _layers;
    private readonly int _c;
    private readonly Dictionary<string, double[]> _p = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double[]> _grad = new(StringComparer.Ordinal);
    private List<double[]>[] _traces = [];     // per layer: per (t, b, u) node values
    private double[][] _inputs = [];           // per layer: x [T·B, D] time-major
    private double[][] _hs = [];               // per layer: h [(T+1)·B, H]
    private int _batch;
    private int _steps;

    public CellReferenceModel(RecurrentModelConfig config)
    {
        _g = config.Cell!;
        _d = config.InputSize;
        _h = config.Hidden;
        _layers = config.Layers;
        _c = config.Outputs;
        foreach (var (name, shape) in ForgetGate.Lab.Numerics.Serialization.ModelCheckpoint.ExpectedTensors(config))
        {
            _p[name] = new double[shape.Aggregate(1, (a, b) => a * b)];
            _grad[name] = new double[_p[name].Length];
        }
    }

    public IReadOnlyDictionary<string, double[]> Gradients => _grad;

    public void CopyFrom(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            for (int i = 0; i < p.Length; i++)
            {
                _p[p.Name][i] = p.Value[i];
            }
        }
    }

    private static string N(string what, int k) => $"rnn.{what}_l{k}";

    public double[] Forward(double[] x, int batch, int steps)
    {
        _batch = batch;
        _steps = steps;
        int nb = _g.Blocks.Length;
        int ns = _g.States.Length;
        _traces = new List<double[]>[_layers];
        _inputs = new double[_layers][];
        _hs = new double[_layers][];
        var input = new double[steps * batch * _d];
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++)
            {
                for (int j = 0; j < _d; j++)
                {
                    input[(((t * batch) + b) * _d) + j] = x[(((b * steps) + t) * _d) + j];
                }
            }
        }

        for (int k = 0; k < _layers; k++)
        {
            int din = k == 0 ? _d : _h;
            _inputs[k] = input;
            var wih = _p[N("weight_ih", k)];
            var bih = _p[N("bias_ih", k)];
            var whh = _g.HasRecurrentWeights ? _p[N("weight_hh", k)] : [];
            var bhh = _g.HasRecurrentWeights ? _p[N("bias_hh", k)] : [];
            var hs = new double[(steps + 1) * batch * _h];
            var states = new double[batch * ns * _h];
            var trace = new List<double[]>();
            for (int t = 0; t < steps; t++)
            {
                var next = new double[batch * ns * _h];
                for (int b = 0; b < batch; b++)
                {
                    for (int u = 0; u < _h; u++)
                    {
                        var blocks = new double[nb];
                        for (int g = 0; g < nb; g++)
                        {
                            int r = (g * _h) + u;
                            double z = bih[r];
                            for (int j = 0; j < din; j++)
                            {
                                z += wih[(r * din) + j] * input[(((t * batch) + b) * din) + j];
                            }

                            int rr = _g.RecurrentBlocks.IndexOf(g);
                            if (rr >= 0)
                            {
                                int q = (rr * _h) + u;
                                z += bhh[q];
                                for (int j = 0; j < _h; j++)
                                {
                                    z += whh[(q * _h) + j] * hs[(((t * batch) + b) * _h) + j];
                                }
                            }

                            blocks[g] = z;
                        }

                        var st = new double[ns];
                        for (int s = 0; s < ns; s++)
                        {
                            st[s] = states[(((b * ns) + s) * _h) + u];
                        }

                        var pv = _g.Params.Select(p => _p[N(p, k)][u]).ToArray();
                        var values = new double[_g.Nodes.Length];
                        CellReference.Forward(_g, blocks, hs[(((t * batch) + b) * _h) + u], st, pv, values);
                        trace.Add(values);
                        hs[((((t + 1) * batch) + b) * _h) + u] = values[_g.HiddenOutput];
                        for (int s = 0; s < ns; s++)
                        {
                            next[(((b * ns) + s) * _h) + u] = values[_g.StateOutputs[s]];
                        }
                    }
                }

                states = next;
            }

            _traces[k] = trace;
            _hs[k] = hs;
            input = hs[(batch * _h)..];
        }

        var logits = new double[batch * _c];
        var w = _p["head.weight"];
        var hb = _p["head.bias"];
        var top = _hs[_layers - 1];
        for (int b = 0; b < batch; b++)
        {
            for (int c = 0; c < _c; c++)
            {
                double sum = hb[c];
                for (int u = 0; u < _h; u++)
                {
                    sum += w[(c * _h) + u] * top[(((steps * batch) + b) * _h) + u];
                }

                logits[(b * _c) + c] = sum;
            }
        }

        return logits;
    }

    public void Backward(double[] dLogits)
    {
        int batch = _batch;
        int steps = _steps;
        int nb = _g.Blocks.Length;
        int ns = _g.States.Length;
        foreach (var g in _grad.Values)
        {
            Array.Clear(g);
        }

        var w = _p["head.weight"];
        var top = _hs[_layers - 1];
        var dH = new double[steps * batch * _h];   // dL/dh_{t+1} at row t
        for (int b = 0; b < batch; b++)
        {
            for (int c = 0; c < _c; c++)
            {
                double g = dLogits[(b * _c) + c];
                _grad["head.bias"][c] += g;
                for (int u = 0; u < _h; u++)
                {
                    _grad["head.weight"][(c * _h) + u] += g * top[(((steps * batch) + b) * _h) + u];
                    dH[((((steps - 1) * batch) + b) * _h) + u] += g * w[(c * _h) + u];
                }
            }
        }

        for (int k = _layers - 1; k >= 0; k--)
        {
            int din = k == 0 ? _d : _h;
            var wih = _p[N("weight_ih", k)];
            var whh = _g.HasRecurrentWeights ? _p[N("weight_hh", k)] : [];
            var gwih = _grad[N("weight_ih", k)];
            var gbih = _grad[N("bias_ih", k)];
            var gwhh = _g.HasRecurrentWeights ? _grad[N("weight_hh", k)] : [];
            var gbhh = _g.HasRecurrentWeights ? _grad[N("bias_hh", k)] : [];
            var input = _inputs[k];
            var hs = _hs[k];
            var dX = new double[steps * batch * din];
            var dS = new double[batch * ns * _h];
            var adj = new double[_g.Nodes.Length];
            for (int t = steps - 1; t >= 0; t--)
            {
                var dZ = new double[batch * nb * _h];
                var nextDS = new double[batch * ns * _h];
                for (int b = 0; b < batch; b++)
                {
                    for (int u = 0; u < _h; u++)
                    {
                        var values = _traces[k][(((t * batch) + b) * _h) + u];
                        var ds = new double[ns];
                        for (int s = 0; s < ns; s++)
                        {
                            ds[s] = dS[(((b * ns) + s) * _h) + u];
                        }

                        CellReference.Backward(_g, values, dH[(((t * batch) + b) * _h) + u], ds, adj);
                        for (int g = 0; g < nb; g++)
                        {
                            dZ[(((b * nb) + g) * _h) + u] = adj[CellGraph.BlockNode(g)];
                        }

                        for (int s = 0; s < ns; s++)
                        {
                            nextDS[(((b * ns) + s) * _h) + u] = adj[_g.StateNode(s)];
                        }

                        if (t > 0)
                        {
                            dH[((((t - 1) * batch) + b) * _h) + u] += adj[_g.HiddenNode];
                        }

                        for (int p = 0; p < _g.Params.Length; p++)
                        {
                            _grad[N(_g.Params[p], k)][u] += adj[_g.ParamNode(p)];
                        }
                    }
                }

                dS = nextDS;
                for (int b = 0; b < batch; b++)
                {
                    for (int g = 0; g < nb; g++)
                    {
                        int rr = _g.RecurrentBlocks.IndexOf(g);
                        for (int u = 0; u < _h; u++)
                        {
                            double dz = dZ[(((b * nb) + g) * _h) + u];
                            int r = (g * _h) + u;
                            gbih[r] += dz;
                            for (int j = 0; j < din; j++)
                            {
                                gwih[(r * din) + j] += dz * input[(((t * batch) + b) * din) + j];
                                dX[(((t * batch) + b) * din) + j] += dz * wih[(r * din) + j];
                            }

                            if (rr >= 0)
                            {
                                int q = (rr * _h) + u;
                                gbhh[q] += dz;
                                for (int j = 0; j < _h; j++)
                                {
                                    gwhh[(q * _h) + j] += dz * hs[(((t * batch) + b) * _h) + j];
                                    if (t > 0)
                                    {
                                        dH[((((t - 1) * batch) + b) * _h) + j] += dz * whh[(q * _h) + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }

            dH = dX;
        }
    }
}
