using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Kernels;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// Stacked recurrent network (any <see cref="Variant"/>) with a linear head on the last step's top hidden state,
/// forward and backward through time (DESIGN.md §3). Buffers are reused: after warm-up a training step allocates nothing.
/// </summary>
public sealed partial class RecurrentModel : IRecurrentNetwork
{
    private readonly ComputePool _pool;
    private readonly RecurrentLayer[] _layers;
    private readonly Parameter _headWeight;
    private readonly Parameter _headBias;
    private readonly Parameter[] _parameters;
    private readonly SpinBarrier _barrier;
    private readonly LayerWork _work;
    private float[] _x = [];        // [T·B, InputSize] time-major copy of the input
    private float[] _dZx = [];      // [T·B, Gh] shared by all layers (same Gh)
    private float[] _dZh = [];      // GRU only; otherwise aliases _dZx
    private float[] _dH = [];       // [T·B, Hp] dL/dh_t from above
    private float[] _dC = [];       // [B, Hp]
    private float[] _scratch = [];  // [B, Hp]
    private readonly int _maxGradColumns;
    private float[] _panels = [];   // [H_prev | X] of one layer in MatMul panel layout
    private int _batch;
    private int _steps;
    private bool _hasForward;
    private bool _hasTrainingState;

    /// <summary>Creates the network with zero parameters; call <see cref="Initialize"/> or load values.</summary>
    public RecurrentModel(RecurrentModelConfig config, ComputePool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        _pool = pool ?? ComputePool.SingleThreaded;
        _layers = new RecurrentLayer[config.Layers];
        var list = new List<Parameter>();
        for (int k = 0; k < config.Layers; k++)
        {
            int din = k == 0 ? config.InputSize : config.Hidden;
            int dp = k == 0 ? config.InputSize : (config.Hidden + GateMath.TileUnits - 1) / GateMath.TileUnits * GateMath.TileUnits;
            _layers[k] = new RecurrentLayer(config.Variant, k, din, dp, config.Hidden, config.Cell, _pool.Threads);
            list.AddRange(_layers[k].Parameters());
        }

        _maxGradColumns = _layers.Max(l => l.GradColumns);
        _headWeight = new Parameter("head.weight", config.Outputs, config.Hidden);
        _headBias = new Parameter("head.bias", config.Outputs);
        list.Add(_headWeight);
        list.Add(_headBias);
        _parameters = [.. list];
        _barrier = new SpinBarrier(_pool.Threads);
        _work = new LayerWork(this);
        _inference = new InferenceWork(this);
    }

    /// <inheritdoc />
    public string Engine => ManagedEngine.EngineName;

    /// <summary>Shape and variant.</summary>
    public RecurrentModelConfig Config { get; }

    /// <summary>Parameters in PyTorch state_dict order (rnn layers, then head).</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The parameter with this state_dict name; the error lists the known names.</summary>
    public Parameter GetParameter(string name)
    {
        foreach (var p in _parameters)
        {
            if (p.Name == name)
            {
                return p;
            }
        }

        throw new ArgumentException(
            $"Unknown parameter '{name}' for a {Config.VariantName} model; known names: {string.Join(", ", _parameters.Select(p => p.Name))}.",
            nameof(name));
    }

    /// <summary>
    /// PyTorch default init U(−1/√H, 1/√H) for every parameter (head included), then the variant's bias rule
    /// (DESIGN.md §4); the draws are <see cref="ParameterInit"/>'s, shared by every engine.
    /// </summary>
    public void Initialize(Rng rng, int sequenceLength) => ParameterInit.Initialize(Config, _parameters, rng, sequenceLength);

    /// <summary>
    /// Runs the network on x [batch, steps, InputSize] (row-major) and writes logits [batch, Outputs].
    /// Activations are kept for <see cref="Backward"/> and <see cref="CopyForgetGates"/>.
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> output, bool training)
    {
        if (batch < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(batch), batch, "batch must be at least 1.");
        }

        if (steps < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(steps), steps, "steps must be at least 1.");
        }

        int d = Config.InputSize;
        long expected = (long)batch * steps * d;
        if (x.Length != expected)
        {
            ThrowHelper.ThrowArgument(
                $"Input x has {x.Length} values; expected batch·steps·InputSize = {batch}·{steps}·{d} = {expected}.", nameof(x));
        }

        if (output.Length < batch * Config.Outputs)
        {
            ThrowHelper.ThrowArgument(
                $"Output has {output.Length} values; expected at least batch·Outputs = {batch}·{Config.Outputs} = {batch * Config.Outputs}.", nameof(output));
        }

        CheckFinite(x, d, steps);
        _hasForward = false;
        _hasTrainingState = false;
        // Evaluation and predict take the row-block inference path, built-ins and cell files alike: the built-in cells
        // are fused into its product tiles, a cell file's step is its program evaluated on each 8-row, 16-unit tile
        // (RecurrentLayer.InferCellStep), with its own block layout (input-only blocks, extra states, params).
        if (!training)
        {
            Infer(x, batch, steps, output);
            _hasForward = true;
            return;
        }

        EnsureBuffers(batch, steps, training);
        RunLayers(x, batch, steps);
        var top = _layers[^1];
        Head(top.Hs.AsSpan(steps * batch * top.Hp, batch * top.Hp), top.Hp, batch, output);
        _hasForward = true;
        _activationsKept = true;
        _hasTrainingState = training;
    }

    /// <summary>
    /// The layer-by-layer forward that keeps every step's activations (for <see cref="Backward"/> and
    /// <see cref="CopyForgetGates"/>): a time-major copy of x, then each layer's recurrent loop over all steps.
    /// </summary>
    private void RunLayers(ReadOnlySpan<float> x, int batch, int steps)
    {
        int d = Config.InputSize;

        // Time-major copy: row (t, b) of _x is x[b, t, :].
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < steps; t++)
            {
                x.Slice(((b * steps) + t) * d, d).CopyTo(_x.AsSpan(((t * batch) + b) * d, d));
            }
        }

        _batch = batch;
        _steps = steps;
        for (int k = 0; k < _layers.Length; k++)
        {
            var layer = _layers[k];
            layer.Pack();
            layer.Hs.AsSpan(0, batch * layer.Hp).Clear();
            if (layer.Cell is not null)
            {
                layer.St.AsSpan(0, batch * layer.S * layer.Hp).Clear();
            }
            else if (!layer.IsGru)
            {
                layer.C.AsSpan(0, batch * layer.Hp).Clear();
            }

            _work.Layer = k;
            _work.Mode = WorkMode.ForwardSteps;
            Dispatch();
            if (layer.Cell is not null)
            {
                CellFiniteCheck.Check(layer, k, batch, steps);
            }
        }
    }

    /// <summary>Logits [rows, Outputs] = head.weight · h + head.bias for rows of h [rows, stride] (the last step's top h).</summary>
    private void Head(ReadOnlySpan<float> hT, int stride, int rows, Span<float> output)
    {
        int h = Config.Hidden;
        int outputs = Config.Outputs;
        var w = _headWeight.Value;
        for (int b = 0; b < rows; b++)
        {
            var hb = hT.Slice(b * stride, h);
            for (int c = 0; c < outputs; c++)
            {
                float sum = _headBias.Value[c];
                var wc = w.AsSpan(c * h, h);
                for (int v = 0; v < h; v++)
                {
                    sum = MathF.FusedMultiplyAdd(hb[v], wc[v], sum);
                }

                output[(b * outputs) + c] = sum;
            }
        }
    }

    /// <summary>
    /// Backpropagates dOutput [batch, Outputs] (dL/dlogits of the last training Forward) and overwrites every
    /// <see cref="Parameter.Gradient"/>.
    /// </summary>
    public void Backward(ReadOnlySpan<float> dOutput)
    {
        if (!_hasTrainingState)
        {
            ThrowHelper.ThrowInvalidOperation("Backward needs a preceding Forward with training = true.");
        }

        int batch = _batch;
        int steps = _steps;
        int outputs = Config.Outputs;
        int h = Config.Hidden;
        if (dOutput.Length != batch * outputs)
        {
            ThrowHelper.ThrowArgument(
                $"dOutput has {dOutput.Length} values; expected batch·Outputs = {batch}·{outputs} = {batch * outputs}.", nameof(dOutput));
        }

        var top = _layers[^1];
        int hp = top.Hp;
        int rowH = batch * hp;
        var hT = top.Hs.AsSpan(steps * rowH, rowH);
        _dH.AsSpan(0, steps * rowH).Clear();
        var dHt = _dH.AsSpan((steps - 1) * rowH, rowH);
        var w = _headWeight.Value;
        var gw = _headWeight.Gradient;
        var gb = _headBias.Gradient;
        Array.Clear(gw);
        Array.Clear(gb);
        for (int b = 0; b < batch; b++)
        {
            var hb = hT.Slice(b * hp, h);
            var dhb = dHt.Slice(b * hp, h);
            for (int c = 0; c < outputs; c++)
            {
                float g = dOutput[(b * outputs) + c];
                gb[c] += g;
                var gwc = gw.AsSpan(c * h, h);
                var wc = w.AsSpan(c * h, h);
                for (int v = 0; v < h; v++)
                {
                    gwc[v] = MathF.FusedMultiplyAdd(g, hb[v], gwc[v]);
                    dhb[v] = MathF.FusedMultiplyAdd(g, wc[v], dhb[v]);
                }
            }
        }

        for (int k = _layers.Length - 1; k >= 0; k--)
        {
            _dC.AsSpan(0, batch * _layers[k].CarriedWidth).Clear();
            _work.Layer = k;
            _work.Mode = WorkMode.BackwardSteps;
            Dispatch();
            _work.Mode = WorkMode.WeightGradients;
            Dispatch();
            _layers[k].UnpackGradients();
            if (_layers[k].Cell is not null)
            {
                _layers[k].SumParamGradients(batch * steps);
            }
            if (k > 0)
            {
                _work.Mode = WorkMode.InputGradient;
                Dispatch();
            }
        }
    }

    /// <summary>
    /// Copies the effective forget gate (σ(f) for the LSTM family and cifg, γ for ur-lstm, z for gru) of
    /// <paramref name="layer"/> at every step of the last Forward as [steps, batch, hidden]; returns the count written.
    /// </summary>
    public int CopyForgetGates(int layer, Span<float> destination)
    {
        if ((uint)layer >= (uint)_layers.Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(layer), layer, $"layer must be in 0..{_layers.Length - 1}.");
        }

        if (!_hasForward)
        {
            ThrowHelper.ThrowInvalidOperation("CopyForgetGates needs a preceding Forward.");
        }

        int h = Config.Hidden;
        int count = _steps * _batch * h;
        if (destination.Length < count)
        {
            ThrowHelper.ThrowArgument($"Destination has {destination.Length} values; expected at least steps·batch·hidden = {count}.", nameof(destination));
        }

        KeepActivations();

        var l = _layers[layer];
        int i = 0;
        for (int t = 0; t < _steps; t++)
        {
            for (int b = 0; b < _batch; b++)
            {
                for (int u = 0; u < h; u++)
                {
                    destination[i++] = l.ForgetGate(_batch, t, b, u);
                }
            }
        }

        return count;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _x = [];
        _dZx = [];
        _dZh = [];
        _dH = [];
        _xRows = [];
        _logits = [];
        _blockScratch = [];
        _hasForward = false;
        _hasTrainingState = false;
    }

    private static void CheckFinite(ReadOnlySpan<float> x, int inputSize, int steps)
    {
        // Non-finite values survive x − x as NaN; the scalar scan runs only to name the culprit.
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
        {
            var v = Vector256.Create(x.Slice(i, 8));
            acc += v - v;
        }

        float tail = 0f;
        for (; i < x.Length; i++)
        {
            tail += x[i] - x[i];
        }

        if (float.IsNaN(Vector256.Sum(acc) + tail))
        {
            for (int j = 0; j < x.Length; j++)
            {
                if (!float.IsFinite(x[j]))
                {
                    int b = j / (steps * inputSize);
                    int t = j / inputSize % steps;
                    ThrowHelper.ThrowArgument(
                        $"Input x holds a non-finite value {x[j].ToString(System.Globalization.CultureInfo.InvariantCulture)} at [batch {b}, step {t}, feature {j % inputSize}].",
                        nameof(x));
                }
            }
        }
    }

    /// <summary>
    /// A worker's share of the recurrent loop. With at least 16 batch rows per worker the batch is split: rows are
    /// independent through time, so no barrier is needed at all and a descheduled worker stalls nobody. Otherwise
    /// the hidden tiles are split and workers exchange h at a barrier each step. Either way every value is the same
    /// chain of operations as on one thread, so results are bit-identical.
    /// </summary>
    private (int B0, int B1, int Tile0, int Tile1, SpinBarrier? Barrier) Share(RecurrentLayer layer, int worker, int workers)
    {
        if (workers == 1)
        {
            return (0, _batch, 0, layer.Tiles, null);
        }

        if (_batch >= MinRowsPerWorker * workers)
        {
            int b0 = (int)((long)_batch * worker / workers);
            int b1 = (int)((long)_batch * (worker + 1) / workers);
            return (b0, b1, 0, layer.Tiles, null);
        }

        int t0 = (int)((long)layer.Tiles * worker / workers);
        int t1 = (int)((long)layer.Tiles * (worker + 1) / workers);
        return (0, _batch, t0, t1, _barrier);
    }

    /// <summary>Batch rows a worker of the recurrent loop gets at least when the batch is split.</summary>
    private const int MinRowsPerWorker = 16;

    /// <summary>
    /// How many of the pool's threads a phase uses: as many as its work pays for, never more. The recurrent loop
    /// splits the batch only while every worker keeps at least 16 rows (B = 128 stops at 8 workers; B = 1,024 at
    /// 64); below that, workers meet at a barrier every step, so a small batch splits the hidden tiles over at most
    /// two workers (the only count measured to pay, on 2 cores). This is what made 16 threads slower than 8 at B = 128 on a 16-core Xeon: with
    /// 8 rows each the loop fell back to tile splitting, 16 workers over 8 tiles with a barrier twice per step. The
    /// weight-gradient product gets a worker per 32 of its G·H output rows, the input gradient one per 64 of its B·T
    /// rows. Measured on one Zen 5 core, a worker's throughput per row is the same at 8 to 64 rows (15.9–16.4k
    /// samples/s at H = 128), so a worker with 16 rows loses nothing to its small share. Results do not depend on
    /// the count: every split computes every value by the same chain.
    /// </summary>
    private int PhaseWorkers(WorkMode mode, RecurrentLayer layer)
    {
        int threads = _pool.Threads;
        if (threads == 1)
        {
            return 1;
        }

        int useful = mode switch
        {
            WorkMode.ForwardSteps or WorkMode.BackwardSteps => _batch >= 2 * MinRowsPerWorker ? _batch / MinRowsPerWorker : Math.Min(layer.Tiles, 2),
            WorkMode.WeightGradients => layer.Gh / 32,
            _ => _batch * _steps / 64,
        };
        return Math.Clamp(useful, 1, threads);
    }

    private void Dispatch()
    {
        int workers = PhaseWorkers(_work.Mode, _layers[_work.Layer]);
        _barrier.Reset(workers);

        // One worker needs no hand-off.
        if (workers == 1)
        {
            _work.Execute(0, 1);
        }
        else
        {
            _pool.Run(_work, workers);
        }
    }

    /// <summary>
    /// Grows the forward buffers, and the gradient buffers only for a training pass: inference (evaluation, predict)
    /// at a large batch would otherwise hold as much again in gradients it never computes.
    /// </summary>
    private void EnsureBuffers(int batch, int steps, bool training)
    {
        int rows = batch * steps;
        var first = _layers[0];
        _x = RecurrentLayer.Grow(_x, rows * Config.InputSize);
        foreach (var layer in _layers)
        {
            layer.Ensure(batch, steps, training);
        }

        if (!training)
        {
            return;
        }

        _dZx = RecurrentLayer.Grow(_dZx, rows * first.Gh);
        _dZh = first.IsGru ? RecurrentLayer.Grow(_dZh, rows * first.Gh) : _dZx;
        _dH = RecurrentLayer.Grow(_dH, rows * first.Hp);
        _dC = RecurrentLayer.Grow(_dC, batch * first.CarriedWidth);
        _scratch = RecurrentLayer.Grow(_scratch, batch * first.Hp);
        _panels = RecurrentLayer.Grow(_panels, Panels.Length(rows, _maxGradColumns));
    }

    private enum WorkMode
    {
        ForwardSteps,
        BackwardSteps,
        WeightGradients,
        InputGradient,
    }

    /// <summary>The one preallocated work item every pool dispatch runs; fields select the phase.</summary>
    private sealed class LayerWork(RecurrentModel model) : IParallelWork
    {
        public int Layer { get; set; }

        public WorkMode Mode { get; set; }

        public void Execute(int worker, int workers)
        {
            var m = model;
            var layer = m._layers[Layer];
            int rows = m._batch * m._steps;
            var x = Layer == 0 ? m._x : m._layers[Layer - 1].Hs;
            int xOffset = Layer == 0 ? 0 : m._batch * layer.Dp;
            switch (Mode)
            {
                case WorkMode.ForwardSteps:
                    {
                        var (b0, b1, t0, t1, barrier) = m.Share(layer, worker, workers);
                        layer.ForwardSteps(x, xOffset, m._batch, m._steps, b0, b1, t0, t1, barrier, worker);
                        break;
                    }

                case WorkMode.BackwardSteps:
                    {
                        var (b0, b1, t0, t1, barrier) = m.Share(layer, worker, workers);
                        layer.BackwardSteps(m._batch, m._steps, b0, b1, t0, t1, m._dH, m._dC, m._dZx, m._dZh, m._scratch, barrier, worker);
                        break;
                    }

                case WorkMode.WeightGradients:
                    {
                        var (p0, p1) = Split(rows, worker, workers);
                        var (i0, i1) = Split(layer.Gh, worker, workers);
                        layer.WeightGradients(rows, x, xOffset, m._dZx, m._dZh, m._panels, p0, p1, i0, i1, m._barrier);
                        break;
                    }

                case WorkMode.InputGradient:
                    {
                        var (r0, r1) = Split(rows, worker, workers);
                        layer.InputGradient(m._dZx, m._dH, r0, r1);
                        break;
                    }

                default:
                    break;
            }
        }

        private static (int Start, int End) Split(int count, int worker, int workers) =>
            ((int)((long)count * worker / workers), (int)((long)count * (worker + 1) / workers));
    }
}
