using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Parameter = ForgetGate.Lab.Numerics.Models.Parameter;

namespace ForgetGate.Lab.Torch;

/// <summary>
/// A stacked recurrent network computed by libtorch. lstm, lstm-fb1 and chrono run as one nn.LSTM per layer and gru as
/// nn.GRU (PyTorch's gate order and "reset after" GRU are exactly DESIGN.md §4); cifg and ur-lstm are explicit cells
/// over the time steps (one input projection for all steps, then per step the recurrent product and the gate maths);
/// a cell file (<see cref="RecurrentModelConfig.Cell"/>) runs its step's expressions as torch ops
/// (<see cref="TorchCellLayer"/>). Autograd gives every backward pass. The host <see cref="Parameters"/> are the truth (the seam's contract):
/// every Forward copies them into the torch leaves, Backward copies the leaves' gradients out.
/// </summary>
internal sealed class TorchNetwork : IRecurrentNetwork
{
    private readonly int _threads;
    private readonly Parameter[] _host;
    private readonly Tensor[] _leaves;            // same order as _host
    private readonly nn.Module?[] _modules;           // nn.LSTM / nn.GRU per layer, or none for explicit cells
    private readonly Tensor?[][] _cellWeights;    // explicit cells: [w_ih, w_hh, b_ih, b_hh, forget_bias?] per layer
    private readonly TorchCellLayer?[] _cellFileLayers;   // cell files (DESIGN.md §4b)
    private readonly Tensor _headWeight;
    private readonly Tensor _headBias;

    // What the last Forward keeps: the logits' graph for Backward, each layer's input and output sequence for telemetry.
    private Tensor? _logits;
    private Tensor?[] _layerInputs;
    private Tensor?[] _layerOutputs;
    private Tensor?[] _cellForget;
    private bool _training;
    private int _batch;
    private int _steps;

    public TorchNetwork(RecurrentModelConfig config, int threads)
    {
        Config = config;
        _threads = Math.Max(1, threads);
        var expected = ModelCheckpoint.ExpectedTensors(config);
        _host = expected.Select(e => new Parameter(e.Name, e.Shape)).ToArray();
        _leaves = new Tensor[_host.Length];
        _modules = new nn.Module?[config.Layers];
        _cellWeights = new Tensor?[config.Layers][];
        _cellFileLayers = new TorchCellLayer?[config.Layers];
        _layerInputs = new Tensor?[config.Layers];
        _layerOutputs = new Tensor?[config.Layers];
        _cellForget = new Tensor?[config.Layers];
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int k = 0; k < config.Layers; k++)
        {
            long din = k == 0 ? config.InputSize : config.Hidden;
            string sfx = string.Create(CultureInfo.InvariantCulture, $"_l{k}");
            if (config.Cell is { } cell)
            {
                var layer = new TorchCellLayer(cell, k, din, config.Hidden);
                _cellFileLayers[k] = layer;
                foreach (var (name, leaf) in layer.Leaves)
                {
                    byName[name] = leaf;
                }
            }
            else if (UsesModule(config.Variant))
            {
                nn.Module module = config.Variant == Variant.Gru
                    ? nn.GRU(din, config.Hidden, numLayers: 1, batchFirst: true)
                    : nn.LSTM(din, config.Hidden, numLayers: 1, batchFirst: true);
                _modules[k] = module;
                foreach (var (name, p) in module.named_parameters())
                {
                    // nn.LSTM/nn.GRU name them weight_ih_l0 … of their only layer; ours are per stacked layer.
                    byName["rnn." + name.Replace("_l0", sfx, StringComparison.Ordinal)] = p;
                }
            }
            else
            {
                var w = new Tensor?[5];
                foreach (var (name, shape) in expected.Where(e => e.Name.EndsWith(sfx, StringComparison.Ordinal)))
                {
                    var t = zeros(shape.Select(d => (long)d).ToArray(), requires_grad: true);
                    byName[name] = t;
                    w[Slot(name)] = t;
                }

                _cellWeights[k] = w;
            }
        }

        _headWeight = zeros([config.Outputs, config.Hidden], requires_grad: true);
        _headBias = zeros([config.Outputs], requires_grad: true);
        byName["head.weight"] = _headWeight;
        byName["head.bias"] = _headBias;
        for (int i = 0; i < _host.Length; i++)
        {
            _leaves[i] = byName[_host[i].Name];
        }
    }

    public string Engine => TorchEngine.EngineName;

    public RecurrentModelConfig Config { get; }

    public IReadOnlyList<Parameter> Parameters => _host;

    public void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> output, bool training)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int d = Config.InputSize;
        long expected = (long)batch * steps * d;
        if (x.Length != expected)
        {
            throw new ArgumentException($"Input x has {x.Length} values; expected batch·steps·InputSize = {batch}·{steps}·{d} = {expected}.", nameof(x));
        }

        if (output.Length < batch * Config.Outputs)
        {
            throw new ArgumentException($"Output has {output.Length} values; expected at least batch·Outputs = {batch}·{Config.Outputs} = {batch * Config.Outputs}.", nameof(output));
        }

        for (int j = 0; j < x.Length; j++)
        {
            if (!float.IsFinite(x[j]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Input x holds a non-finite value {x[j]} at [batch {j / (steps * d)}, step {j / d % steps}, feature {j % d}]."), nameof(x));
            }
        }

        ReleaseForward();
        TorchRuntime.UseThreads(_threads);
        using (no_grad())
        {
            for (int i = 0; i < _host.Length; i++)
            {
                _leaves[i].data<float>().CopyFrom(_host[i].Value, 0, 0);
            }
        }

        _batch = batch;
        _steps = steps;
        _training = training;
        using var scope = NewDisposeScope();
        using var grad = set_grad_enabled(training);
        var input = empty([batch, steps, d]);
        input.data<float>().CopyFrom(x, 0, 0);
        var seq = input;
        for (int k = 0; k < Config.Layers; k++)
        {
            _layerInputs[k] = seq.detach().MoveToOuterDisposeScope();
            seq = _modules[k] switch
            {
                LSTM lstm => lstm.call(seq).Item1,
                GRU gru => gru.call(seq).Item1,
                _ when _cellFileLayers[k] is { } cellLayer => CellFileLayer(k, cellLayer, seq),
                _ => BuiltInCellLayer(k, seq),
            };
            _layerOutputs[k] = seq.detach().MoveToOuterDisposeScope();
        }

        var last = seq.select(1, steps - 1);
        var logits = nn.functional.linear(last, _headWeight, _headBias);
        logits.data<float>().CopyTo(output[..(batch * Config.Outputs)], 0, 0);
        _logits = training ? logits.MoveToOuterDisposeScope() : null;
    }

    public void Backward(ReadOnlySpan<float> dOutput)
    {
        if (_logits is null || !_training)
        {
            throw new InvalidOperationException("Backward needs a preceding Forward with training = true.");
        }

        int n = _batch * Config.Outputs;
        if (dOutput.Length != n)
        {
            throw new ArgumentException($"dOutput has {dOutput.Length} values; expected batch·Outputs = {_batch}·{Config.Outputs} = {n}.", nameof(dOutput));
        }

        using var scope = NewDisposeScope();
        var g = empty([_batch, Config.Outputs]);
        g.data<float>().CopyFrom(dOutput, 0, 0);
        var grads = autograd.grad([_logits], _leaves, [g], retain_graph: false, create_graph: false, allow_unused: true);
        for (int i = 0; i < _host.Length; i++)
        {
            var gi = grads[i];
            if (gi is null || gi.IsInvalid)
            {
                Array.Clear(_host[i].Gradient);
            }
            else
            {
                gi.data<float>().CopyTo(_host[i].Gradient, 0, 0);
            }
        }

        // The graph is spent (retain_graph: false); a second Backward needs a new Forward, as in the managed engine.
        _logits.Dispose();
        _logits = null;
    }

    public int CopyForgetGates(int layer, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Config.Layers);
        if (_layerOutputs[layer] is not { } outputs || _layerInputs[layer] is not { } inputs)
        {
            throw new InvalidOperationException("CopyForgetGates needs a preceding Forward.");
        }

        int h = Config.Hidden;
        int count = _steps * _batch * h;
        if (destination.Length < count)
        {
            throw new ArgumentException($"Destination has {destination.Length} values; expected at least steps·batch·hidden = {count}.", nameof(destination));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor gates;
        if (_cellForget[layer] is { } kept)
        {
            gates = kept;
        }
        else
        {
            // nn.LSTM/nn.GRU do not return their gates: recompute block 1 (f for the LSTM family, z for the GRU) from the
            // layer's input and output sequences, z_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh with h_0 = 0.
            var p = _modules[layer]!.named_parameters().ToDictionary(t => t.name, t => t.parameter, StringComparer.Ordinal);
            var hPrev = cat([zeros([_batch, 1, h]), outputs.narrow(1, 0, _steps - 1)], 1);
            var zx = nn.functional.linear(inputs, p["weight_ih_l0"].narrow(0, h, h), p["bias_ih_l0"].narrow(0, h, h));
            var zh = nn.functional.linear(hPrev, p["weight_hh_l0"].narrow(0, h, h), p["bias_hh_l0"].narrow(0, h, h));
            gates = sigmoid(zx + zh).permute(1, 0, 2);
        }

        gates.contiguous().data<float>().CopyTo(destination[..count], 0, 0);
        return count;
    }

    public void Dispose()
    {
        ReleaseForward();
        foreach (var m in _modules)
        {
            m?.Dispose();
        }

        foreach (var layer in _cellFileLayers)
        {
            layer?.Dispose();
        }

        foreach (var w in _cellWeights)
        {
            foreach (var t in w ?? [])
            {
                t?.Dispose();
            }
        }

        _headWeight.Dispose();
        _headBias.Dispose();
    }

    private static bool UsesModule(Variant v) => v is Variant.Lstm or Variant.LstmFb1 or Variant.Chrono or Variant.Gru;

    private static int Slot(string name) => name switch
    {
        _ when name.StartsWith("rnn.weight_ih", StringComparison.Ordinal) => 0,
        _ when name.StartsWith("rnn.weight_hh", StringComparison.Ordinal) => 1,
        _ when name.StartsWith("rnn.bias_ih", StringComparison.Ordinal) => 2,
        _ when name.StartsWith("rnn.bias_hh", StringComparison.Ordinal) => 3,
        _ => 4, // rnn.forget_bias (ur-lstm)
    };

    /// <summary>
    /// A cell file's layer over all steps; keeps its forget gate for telemetry and, like the managed engine, refuses
    /// a non-finite h or state with <see cref="CellNonFiniteException"/> naming the step, row, unit and expression.
    /// </summary>
    private Tensor CellFileLayer(int k, TorchCellLayer layer, Tensor seq)
    {
        var hs = layer.Forward(seq, out var forget, out var states);
        _cellForget[k] = forget.MoveToOuterDisposeScope();
        using (no_grad())
        {
            bool finite = isfinite(hs).all().item<bool>() && states.All(s => isfinite(s).all().item<bool>());
            if (!finite)
            {
                ThrowNonFinite(k, layer, seq, hs.detach(), states);
            }
        }

        return hs;
    }

    private void ThrowNonFinite(int k, TorchCellLayer layer, Tensor seq, Tensor hs, Tensor[] states)
    {
        var graph = Config.Cell!;
        int h = Config.Hidden;
        // The first step (then row, then unit) where h or a state is not finite: the managed engine's search order.
        var bad = ~isfinite(hs.permute(1, 0, 2));          // [T, B, H]
        foreach (var s in states)
        {
            bad = bad | ~isfinite(s);
        }

        long flat = bad.flatten().nonzero()[0, 0].item<long>();
        int t = (int)(flat / (_batch * h));
        int b = (int)(flat / h % _batch);
        int u = (int)(flat % h);
        var values = layer.Replay(seq.detach(), hs, states, t);
        float At(int node) => values[node][b, u].item<float>();
        int culprit = graph.HiddenOutput;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(At(i)))
            {
                culprit = i;
                break;
            }
        }

        string line = graph.LineOf(culprit);
        string inputs = string.Join(", ", Enumerable.Range(0, graph.InputCount)
            .Select(i => $"{graph.Describe(i)} = {At(i).ToString("G6", CultureInfo.InvariantCulture)}"));
        throw new CellNonFiniteException(
            $"Cell '{graph.Name}' went non-finite in layer {k} at time step {t}, batch row {b}, unit {u}: " +
            $"{line} gave {At(culprit).ToString(CultureInfo.InvariantCulture)} (its inputs there: {inputs}).")
        {
            Expression = line,
        };
    }

    /// <summary>cifg or ur-lstm over all steps (DESIGN.md §4); returns h for every step [B, T, H] and keeps the effective forget gate.</summary>
    private Tensor BuiltInCellLayer(int k, Tensor seq)
    {
        var w = _cellWeights[k];
        int h = Config.Hidden;
        var xp = nn.functional.linear(seq, w[0]!, w[2]!);            // [B, T, G·H]: every step's input projection at once
        var hT = zeros([_batch, h]);
        var c = zeros([_batch, h]);
        var hs = new Tensor[_steps];
        var forget = new Tensor[_steps];
        for (int t = 0; t < _steps; t++)
        {
            var z = xp.select(1, t) + nn.functional.linear(hT, w[1]!, w[3]!);
            var blocks = z.chunk(Config.Variant == Variant.Cifg ? 3 : 4, 1);
            Tensor gamma, candidate, o;
            if (Config.Variant == Variant.Cifg)
            {
                // f, g, o: c' = σ(f)c + (1 − σ(f))tanh(g)
                gamma = sigmoid(blocks[0]);
                candidate = tanh(blocks[1]);
                o = blocks[2];
            }
            else
            {
                // f, r, u, o: φ = σ(z_f + b), ρ = σ(z_r − b), γ = φ(2ρ + (1 − 2ρ)φ) (the managed kernel's form)
                var phi = sigmoid(blocks[0] + w[4]!);
                var rho = sigmoid(blocks[1] - w[4]!);
                gamma = phi * ((2 * rho) + ((1 - (2 * rho)) * phi));
                candidate = tanh(blocks[2]);
                o = blocks[3];
            }

            c = (gamma * c) + ((1 - gamma) * candidate);
            hT = sigmoid(o) * tanh(c);
            hs[t] = hT;
            forget[t] = gamma.detach();
        }

        _cellForget[k] = stack(forget, 0).MoveToOuterDisposeScope();   // [T, B, H]
        return stack(hs, 1);
    }

    private void ReleaseForward()
    {
        _logits?.Dispose();
        _logits = null;
        for (int k = 0; k < Config.Layers; k++)
        {
            _layerInputs[k]?.Dispose();
            _layerOutputs[k]?.Dispose();
            _cellForget[k]?.Dispose();
            _layerInputs[k] = null;
            _layerOutputs[k] = null;
            _cellForget[k] = null;
        }
    }
}
