using System.Runtime.InteropServices;
using ForgetGate.Lab.Gpu.Kernels;
using ForgetGate.Lab.Numerics.Models;
using ILGPU;
using ILGPU.Runtime;
using DeviceBuffer = ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense>;

namespace ForgetGate.Lab.Gpu;

/// <summary>
/// N independent runs of one network shape (variant, sizes, layers) trained together on one accelerator (DESIGN.md §13):
/// every launch covers all runs, the run index being a grid dimension; weights, gradients, optimizer moments and data
/// are per run. No kernel reduces across runs and every reduction has a fixed order, so a run's numbers do not depend
/// on which runs share the batch. The maths are the managed engine's (<see cref="RecurrentModel"/>): same parameter
/// names and layout (PyTorch state_dict order), same equations, same optimizer conventions.
/// </summary>
public sealed partial class GpuRecurrentBatch : IDisposable
{
    private readonly GpuDevice _device;
    private readonly GpuKernels _k;
    private readonly Accelerator _acc;
    private readonly int _kind;
    private readonly Slot[] _slots;
    private readonly LayerSlots[] _layers;
    private readonly int _headWeight;
    private readonly int _headBias;
    private readonly int _gh;
    private readonly DeviceBuffer _params;
    private readonly DeviceBuffer _grads;
    private readonly DeviceBuffer _biasX;
    private readonly DeviceBuffer _scale;
    private readonly DeviceBuffer _norms;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _active;
    private readonly int[] _activeHost;
    private readonly float[] _scalarsHost;
    private DeviceBuffer? _moment1;
    private DeviceBuffer? _moment2;
    private DeviceBuffer? _scalars;
    private OptimizerKind _optimizer;
    private OptimizerSettings[] _settings = [];
    private readonly long[] _stepCount;
    private ClipTables? _clip;

    // Activations and gradients, grown to the largest (batch, steps) seen.
    private int _capBatch;
    private int _capSteps;
    private bool _capTraining;
    private DeviceBuffer? _xRaw;
    private DeviceBuffer? _x;
    private DeviceBuffer[] _z = [];
    private DeviceBuffer[] _hh = [];
    private DeviceBuffer[] _h = [];
    private DeviceBuffer[] _c = [];
    private DeviceBuffer? _dZx;
    private DeviceBuffer? _dZh;
    private DeviceBuffer? _dH;
    private DeviceBuffer? _dhCur;
    private DeviceBuffer? _dhBase;
    private DeviceBuffer? _dc;
    private DeviceBuffer? _logits;
    private DeviceBuffer? _dLogits;
    private DeviceBuffer? _rowLoss;
    private DeviceBuffer? _loss;
    private MemoryBuffer1D<int, Stride1D.Dense>? _labels;
    private int _batch;
    private int _steps;
    private bool _hasTrainingState;

    /// <summary>Allocates <paramref name="runs"/> zero-initialised copies of the network on <paramref name="device"/>.</summary>
    public GpuRecurrentBatch(GpuDevice device, RecurrentModelConfig config, int runs)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        Config = config.Validate();
        Runs = runs;
        _device = device;
        _acc = device.Accelerator;
        _k = device.Kernels;
        _kind = config.Cell is null ? CellKinds.Of(config.Variant) : CellKinds.Program;
        _gh = config.GateCount * config.Hidden;

        // The layout is the managed model's parameter list, so names, shapes and order cannot drift apart.
        using (var template = new RecurrentModel(config))
        {
            var slots = new List<Slot>();
            int offset = 0;
            foreach (var p in template.Parameters)
            {
                slots.Add(new Slot(p.Name, [.. p.Shape], offset, p.Length));
                offset += p.Length;
            }

            _slots = [.. slots];
            ParameterCount = offset;
        }

        _layers = new LayerSlots[config.Layers];
        for (int k = 0; k < config.Layers; k++)
        {
            _layers[k] = new LayerSlots(
                // A cell whose blocks are all input-only (minlstm) has no weight_hh / bias_hh: offset 0, never read.
                Offset($"rnn.weight_ih_l{k}"), OffsetOrZero($"rnn.weight_hh_l{k}"), Offset($"rnn.bias_ih_l{k}"), OffsetOrZero($"rnn.bias_hh_l{k}"),
                config.Cell is null && config.Variant == Variant.UrLstm ? Offset($"rnn.forget_bias_l{k}") : 0,
                k == 0 ? config.InputSize : config.Hidden);
        }

        _headWeight = Offset("head.weight");
        _headBias = Offset("head.bias");
        long total = (long)runs * ParameterCount;
        if (total > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(runs), runs, $"{runs} runs × {ParameterCount} parameters exceed the 2^31 elements one buffer may index.");
        }

        _params = Allocate(total);
        _grads = Allocate(total);
        _biasX = Allocate((long)runs * config.Layers * _gh);
        _scale = Allocate(runs);
        _norms = Allocate(runs);
        _activeHost = new int[runs];
        Array.Fill(_activeHost, 1);
        _active = _acc.Allocate1D(_activeHost);
        _scalarsHost = new float[runs * 8];
        _stepCount = new long[runs];
        _params.View.MemSetToZero();
        _grads.View.MemSetToZero();
        Fill(_scale, 1f);
        if (config.Cell is not null)
        {
            InitCellProgram();
        }
    }

    /// <summary>Shape and variant shared by every run.</summary>
    public RecurrentModelConfig Config { get; }

    /// <summary>Number of runs in the batch.</summary>
    public int Runs { get; }

    /// <summary>Parameters per run (all tensors, flat).</summary>
    public int ParameterCount { get; }

    /// <summary>Optimizer steps taken by each run.</summary>
    public IReadOnlyList<long> StepCounts => _stepCount;

    /// <summary>Copies one run's parameter values in (names and shapes must match this shape's list).</summary>
    public void SetParameters(int run, IReadOnlyList<Parameter> parameters)
    {
        CheckRun(run);
        var flat = new float[ParameterCount];
        foreach (var (slot, p) in Match(parameters))
        {
            p.Value.CopyTo(flat, slot.Offset);
        }

        _params.View.SubView((long)run * ParameterCount, ParameterCount).CopyFromCPU(flat);
    }

    /// <summary>Copies one run's parameter values out into <paramref name="destination"/>.</summary>
    public void GetParameters(int run, IReadOnlyList<Parameter> destination) => CopyOut(_params, run, destination, gradients: false);

    /// <summary>Copies one run's gradients (of the last <see cref="Backward"/> or training step) into the parameters' Gradient arrays.</summary>
    public void GetGradients(int run, IReadOnlyList<Parameter> destination) => CopyOut(_grads, run, destination, gradients: true);

    /// <summary>
    /// Adam for every run (torch.optim.Adam; per-run settings so a sweep over learning rates shares a batch).
    /// Resets the moments and step counts.
    /// </summary>
    public void UseAdam(IReadOnlyList<OptimizerSettings> settings) => UseOptimizer(OptimizerKind.Adam, settings);

    /// <summary>SGD for every run (torch.optim.SGD). Resets momentum buffers and step counts.</summary>
    public void UseSgd(IReadOnlyList<OptimizerSettings> settings) => UseOptimizer(OptimizerKind.Sgd, settings);

    /// <summary>
    /// Stops or resumes updates of one run (a cancelled or failed run): its slot is still computed, harmlessly,
    /// but its parameters, moments and step count no longer change, and no other run is affected.
    /// </summary>
    public void SetActive(int run, bool active)
    {
        CheckRun(run);
        _activeHost[run] = active ? 1 : 0;
        _active.View.CopyFromCPU(_activeHost);
    }

    /// <summary>
    /// Runs every run's network on its own input: <paramref name="x"/> is [runs, batch, steps, InputSize] row-major;
    /// writes <paramref name="logits"/> [runs, batch, Outputs] (may be empty to keep them on the device).
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> logits, bool training)
    {
        int d = Config.InputSize;
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        long expected = (long)Runs * batch * steps * d;
        if (x.Length != expected)
        {
            throw new ArgumentException($"Input x has {x.Length} values; expected runs·batch·steps·InputSize = {Runs}·{batch}·{steps}·{d} = {expected}.", nameof(x));
        }

        Ensure(batch, steps, training);
        _xRaw!.View.SubView(0, expected).CopyFromCPU(ref MemoryMarshal.GetReference(x), expected);
        ForwardOnDevice(batch, steps, training);
        if (!logits.IsEmpty)
        {
            CopyLogits(logits);
        }
    }

    /// <summary>
    /// Backpropagates <paramref name="dLogits"/> [runs, batch, Outputs] of the last training <see cref="Forward"/>;
    /// gradients stay on the device (see <see cref="GetGradients"/>).
    /// </summary>
    public void Backward(ReadOnlySpan<float> dLogits)
    {
        RequireTrainingState();
        int n = Runs * _batch * Config.Outputs;
        if (dLogits.Length != n)
        {
            throw new ArgumentException($"dLogits has {dLogits.Length} values; expected runs·batch·Outputs = {n}.", nameof(dLogits));
        }

        _dLogits!.View.SubView(0, n).CopyFromCPU(ref MemoryMarshal.GetReference(dLogits), n);
        BackwardOnDevice();
    }

    /// <summary>
    /// Makes room for a forward pass of (<paramref name="batch"/>, <paramref name="steps"/>) before per-run inputs are
    /// uploaded with <see cref="SetInput"/> (<see cref="GpuSweepBatch"/>: only some runs have a call in a launch).
    /// </summary>
    internal void Prepare(int batch, int steps, bool training)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        Ensure(batch, steps, training);
    }

    /// <summary>Uploads one run's input [batch, steps, InputSize] into its slot; the other runs' slots keep what they hold.</summary>
    internal void SetInput(int run, ReadOnlySpan<float> x, int batch, int steps)
    {
        CheckRun(run);
        int n = batch * steps * Config.InputSize;
        if (x.Length != n || batch > _capBatch || steps > _capSteps)
        {
            throw new ArgumentException($"Input x has {x.Length} values for batch {batch}, steps {steps}; expected {n} within the prepared capacity.", nameof(x));
        }

        _xRaw!.View.SubView((long)run * n, n).CopyFromCPU(ref MemoryMarshal.GetReference(x), n);
    }

    /// <summary>Forward of every run on the inputs in their slots (see <see cref="Prepare"/>); logits stay on the device.</summary>
    internal void ForwardSlots(int batch, int steps, bool training) => ForwardOnDevice(batch, steps, training);

    /// <summary>Copies one run's logits [batch, Outputs] of the last forward pass.</summary>
    internal void CopyLogits(int run, Span<float> logits)
    {
        CheckRun(run);
        int n = _batch * Config.Outputs;
        if (logits.Length < n)
        {
            throw new ArgumentException($"logits has {logits.Length} values; expected at least batch·Outputs = {n}.", nameof(logits));
        }

        _logits!.View.SubView((long)run * n, n).CopyToCPU(ref MemoryMarshal.GetReference(logits), n);
    }

    /// <summary>Uploads one run's dL/dlogits [batch, Outputs] for the next <see cref="BackwardSlots"/>.</summary>
    internal void SetOutputGradient(int run, ReadOnlySpan<float> dLogits)
    {
        CheckRun(run);
        RequireTrainingState();
        int n = _batch * Config.Outputs;
        if (dLogits.Length != n)
        {
            throw new ArgumentException($"dLogits has {dLogits.Length} values; expected batch·Outputs = {n}.", nameof(dLogits));
        }

        _dLogits!.View.SubView((long)run * n, n).CopyFromCPU(ref MemoryMarshal.GetReference(dLogits), n);
    }

    /// <summary>Backward of every run from the output gradients in their slots; gradients stay on the device.</summary>
    internal void BackwardSlots() => BackwardOnDevice();

    /// <summary>
    /// One training step of every active run: forward, softmax cross-entropy (mean over the batch), backward, optional
    /// global-norm clipping (per run), optimizer. <paramref name="x"/> is [runs, batch, steps, InputSize],
    /// <paramref name="labels"/> [runs, batch]. Losses [runs] are written when <paramref name="losses"/> is not empty
    /// (that waits for the device; leave it empty to keep launching).
    /// </summary>
    public void TrainStep(ReadOnlySpan<float> x, ReadOnlySpan<int> labels, int batch, int steps, float? clipNorm, Span<float> losses)
    {
        if (labels.Length != Runs * batch)
        {
            throw new ArgumentException($"labels has {labels.Length} values; expected runs·batch = {Runs}·{batch} = {Runs * batch}.", nameof(labels));
        }

        foreach (int label in labels)
        {
            if ((uint)label >= (uint)Config.Outputs)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"A label is {label}; expected a class in [0, {Config.Outputs}).");
            }
        }

        int d = Config.InputSize;
        long expected = (long)Runs * batch * steps * d;
        if (x.Length != expected)
        {
            throw new ArgumentException($"Input x has {x.Length} values; expected runs·batch·steps·InputSize = {Runs}·{batch}·{steps}·{d} = {expected}.", nameof(x));
        }

        Ensure(batch, steps, training: true);
        _xRaw!.View.SubView(0, expected).CopyFromCPU(ref MemoryMarshal.GetReference(x), expected);
        _labels!.View.SubView(0, labels.Length).CopyFromCPU(ref MemoryMarshal.GetReference(labels), labels.Length);
        TrainStepOnDevice(batch, steps, clipNorm);
        if (!losses.IsEmpty)
        {
            CopyLosses(losses);
        }
    }

    /// <summary>
    /// A training step on the input and labels already on the device (the last ones uploaded): for benchmarks that
    /// measure the device, not the host's copies.
    /// </summary>
    public void TrainStepResident(float? clipNorm)
    {
        if (_batch == 0)
        {
            throw new InvalidOperationException("TrainStepResident needs data uploaded by a preceding TrainStep.");
        }

        TrainStepOnDevice(_batch, _steps, clipNorm);
    }

    /// <summary>Inference on the input already on the device (see <see cref="TrainStepResident"/>).</summary>
    public void ForwardResident() => ForwardOnDevice(_batch, _steps, training: false);

    /// <summary>Copies the mean losses [runs] of the last training step.</summary>
    public void CopyLosses(Span<float> losses)
    {
        if (losses.Length < Runs)
        {
            throw new ArgumentException($"losses has {losses.Length} values; expected at least runs = {Runs}.", nameof(losses));
        }

        _loss!.View.SubView(0, Runs).CopyToCPU(ref MemoryMarshal.GetReference(losses), Runs);
    }

    /// <summary>Copies the logits [runs, batch, Outputs] of the last forward pass.</summary>
    public void CopyLogits(Span<float> logits)
    {
        int n = Runs * _batch * Config.Outputs;
        if (logits.Length < n)
        {
            throw new ArgumentException($"logits has {logits.Length} values; expected at least runs·batch·Outputs = {n}.", nameof(logits));
        }

        _logits!.View.SubView(0, n).CopyToCPU(ref MemoryMarshal.GetReference(logits), n);
    }

    /// <summary>The total gradient norm of each run before clipping, from the last clipped step.</summary>
    public float[] LastGradientNorms()
    {
        var n = new float[Runs];
        _norms.View.CopyToCPU(n);
        return n;
    }

    /// <summary>
    /// The effective forget gate (σ(f) for the LSTM family and cifg, γ for ur-lstm, z for gru) of one run and layer
    /// at every step of the last forward pass, as [steps, batch, hidden] (the managed CopyForgetGates layout).
    /// </summary>
    public float[] CopyForgetGates(int run, int layer)
    {
        CheckRun(run);
        if ((uint)layer >= (uint)Config.Layers)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in 0..{Config.Layers - 1}.");
        }

        if (_batch == 0)
        {
            throw new InvalidOperationException("CopyForgetGates needs a preceding Forward.");
        }

        if (_kind == CellKinds.Program)
        {
            return CopyCellForgetGates(run, layer);
        }

        int h = Config.Hidden;
        int perRun = _steps * _batch * _gh;
        var act = new float[perRun];
        _z[layer].View.SubView((long)run * perRun, perRun).CopyToCPU(act);
        var result = new float[_steps * _batch * h];
        int i = 0;
        for (int row = 0; row < _steps * _batch; row++)
        {
            int z = row * _gh;
            for (int u = 0; u < h; u++)
            {
                result[i++] = _kind switch
                {
                    CellKinds.Cifg => act[z + u],
                    CellKinds.Gru => act[z + h + u],
                    CellKinds.UrLstm => Gamma(act[z + u], act[z + h + u]),
                    _ => act[z + h + u],
                };
            }
        }

        return result;

        static float Gamma(float phi, float rho)
        {
            float twoRho = rho + rho;
            return phi * (((1f - twoRho) * phi) + twoRho);
        }
    }

    /// <summary>Waits for the device.</summary>
    public void Synchronize() => _acc.Synchronize();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var b in new[] { _params, _grads, _biasX, _scale, _norms, _moment1, _moment2, _scalars })
        {
            b?.Dispose();
        }

        _active.Dispose();
        _clip?.Dispose();
        ReleaseActivations();
        DisposeCellProgram();
    }

    private void UseOptimizer(OptimizerKind kind, IReadOnlyList<OptimizerSettings> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Count != Runs)
        {
            throw new ArgumentException($"{settings.Count} optimizer settings for {Runs} runs; give one per run.", nameof(settings));
        }

        foreach (var s in settings)
        {
            s.Validate();
        }

        _optimizer = kind;
        _settings = [.. settings];
        Array.Clear(_stepCount);
        long total = (long)Runs * ParameterCount;
        _moment1 ??= Allocate(total);
        _moment1.View.MemSetToZero();
        if (kind == OptimizerKind.Adam)
        {
            _moment2 ??= Allocate(total);
            _moment2.View.MemSetToZero();
        }

        _scalars ??= Allocate(Runs * 8);
    }

    private void TrainStepOnDevice(int batch, int steps, float? clipNorm)
    {
        if (_optimizer == OptimizerKind.None)
        {
            throw new InvalidOperationException("Choose an optimizer (UseAdam or UseSgd) before training.");
        }

        ForwardOnDevice(batch, steps, training: true);
        int c = Config.Outputs;
        _k.LossRows(new Index2D(batch, Runs), batch, c, _logits!.View, _labels!.View, _dLogits!.View, _rowLoss!.View);
        _k.LossMean(Runs, batch, _rowLoss.View, _loss!.View);
        BackwardOnDevice();
        if (clipNorm is float max)
        {
            if (!(max >= 0))
            {
                throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, "The clipping norm must be >= 0.");
            }

            _clip ??= new ClipTables(_acc, _slots, Runs);
            _k.ClipSquares(new Index2D(_clip.ChunkCount, Runs), ParameterCount, _grads.View, _clip.Chunks.View, _clip.Partial.View, _clip.ChunkCount);
            _k.ClipCoefficients(Runs, _slots.Length, _clip.ChunkCount, _clip.Tensors.View, _clip.Partial.View, max, _scale.View, _norms.View);
        }
        else
        {
            Fill(_scale, 1f);
        }

        Step();
    }

    /// <summary>Per-run optimizer scalars computed on the host in double (as the managed optimizers), then one launch.</summary>
    private void Step()
    {
        var s = _scalarsHost;
        for (int r = 0; r < Runs; r++)
        {
            var o = _settings[r];
            int i = r * 8;
            if (_activeHost[r] == 0)
            {
                continue;
            }

            bool first = _stepCount[r] == 0;
            long t = ++_stepCount[r];
            if (_optimizer == OptimizerKind.Adam)
            {
                double bc1 = 1.0 - Math.Pow(o.Beta1, t);
                double bc2 = 1.0 - Math.Pow(o.Beta2, t);
                s[i] = (float)-(o.LearningRate / bc1);
                s[i + 1] = (float)Math.Sqrt(bc2);
                s[i + 2] = o.Beta1;
                s[i + 3] = o.Beta2;
                s[i + 4] = (float)(1.0 - (double)o.Beta1);
                s[i + 5] = (float)(1.0 - (double)o.Beta2);
                s[i + 6] = o.Eps;
                s[i + 7] = o.WeightDecay;
            }
            else
            {
                s[i] = -o.LearningRate;
                s[i + 1] = o.Momentum;
                s[i + 2] = (float)(1.0 - (double)o.Dampening);
                s[i + 3] = o.WeightDecay;
                s[i + 4] = o.Nesterov ? 1f : 0f;
                s[i + 5] = first ? 1f : 0f;
            }
        }

        _scalars!.View.CopyFromCPU(s);
        var index = new Index2D(ParameterCount, Runs);
        if (_optimizer == OptimizerKind.Adam)
        {
            _k.Adam(index, ParameterCount, _params.View, _grads.View, _moment1!.View, _moment2!.View, _scalars.View, _scale.View, _active.View);
        }
        else
        {
            _k.Sgd(index, ParameterCount, _params.View, _grads.View, _moment1!.View, _scalars.View, _scale.View, _active.View);
        }
    }

    private void ForwardOnDevice(int batch, int steps, bool training)
    {
        _hasTrainingState = false;
        _batch = batch;
        _steps = steps;
        int d = Config.InputSize;
        int h = Config.Hidden;
        int gh = _gh;
        int rows = batch * steps;
        int zRun = rows * gh;
        int stateRun = (steps + 1) * batch * h;
        int p = ParameterCount;
        _k.TimeMajor(new Index2D(rows * d, Runs), batch, steps, d, _xRaw!.View, _x!.View);
        var args = new CellArgs { Batch = batch, Hidden = h, ZRun = zRun, StateRun = stateRun };
        var cells = new Index2D(batch * h, Runs);
        for (int k = 0; k < _layers.Length; k++)
        {
            var l = _layers[k];
            var (input, inputRun) = k == 0 ? (Tail(_x, 0), rows * d) : (Tail(_h[k - 1], batch * h), stateRun);
            if (_kind == CellKinds.Program)
            {
                ForwardCellLayer(k, batch, steps, input, inputRun);
                continue;
            }

            var biasX = _biasX.View.SubView((long)k * Runs * gh, (long)Runs * gh);
            _k.InputBias(new Index2D(gh, Runs), _kind, h, p, l.BiasIh, l.BiasHh, l.ForgetBias, _params.View, biasX, gh);

            // Xp = input · W_ihᵀ + bias for all steps at once.
            Gemm(rows, gh, l.Inputs, input, inputRun, l.Inputs, 1, Tail(_params, l.WeightIh), p, 1, l.Inputs, _z[k].View, zRun, gh, biasX, gh, 0, 1);
            var hBuf = _h[k];
            _k.ZeroPrefix(cells, stateRun, hBuf.View);
            bool gru = _kind == CellKinds.Gru;
            if (!gru)
            {
                _k.ZeroPrefix(cells, stateRun, _c[k].View);
            }

            var whh = Tail(_params, l.WeightHh);
            for (int t = 0; t < steps; t++)
            {
                var hPrev = Tail(hBuf, (long)t * batch * h);
                var hNext = Tail(hBuf, (long)(t + 1) * batch * h);
                var z = Tail(_z[k], (long)t * batch * gh);
                if (gru)
                {
                    var hh = Tail(_hh[k], (long)t * batch * gh);
                    Gemm(batch, gh, h, hPrev, stateRun, h, 1, whh, p, 1, h, hh, zRun, gh);
                    _k.GruForward(cells, args, z, hh, Tail(_params, l.BiasHh + (2 * h)), p, hPrev, hNext);
                }
                else
                {
                    Gemm(batch, gh, h, hPrev, stateRun, h, 1, whh, p, 1, h, z, zRun, gh, z, zRun, gh, 1);
                    var c = _c[k];
                    _k.LstmForward(cells, args, _kind, z, Tail(c, (long)t * batch * h), Tail(c, (long)(t + 1) * batch * h), hNext);
                }
            }
        }

        // Head on the last step's top h: logits = h_T · Wᵀ + b.
        int outputs = Config.Outputs;
        var top = Tail(_h[^1], (long)steps * batch * h);
        Gemm(batch, outputs, h, top, stateRun, h, 1, Tail(_params, _headWeight), p, 1, h, _logits!.View, batch * outputs, outputs, Tail(_params, _headBias), p, 0, 1);
        _hasTrainingState = training;
    }

    private void BackwardOnDevice()
    {
        RequireTrainingState();
        int batch = _batch;
        int steps = _steps;
        int h = Config.Hidden;
        int gh = _gh;
        int rows = batch * steps;
        int zRun = rows * gh;
        int stateRun = (steps + 1) * batch * h;
        int aboveRun = rows * h;
        int carryRun = batch * h;
        int p = ParameterCount;
        int outputs = Config.Outputs;
        bool gru = _kind == CellKinds.Gru;
        var top = Tail(_h[^1], (long)steps * batch * h);

        // Head: dW = dLogitsᵀ·h_T, db = Σ_b dLogits, dh_T = dLogits·W (the top layer's dL/dh is zero before T−1).
        Gemm(outputs, h, batch, _dLogits!.View, batch * outputs, 1, outputs, top, stateRun, h, 1, Tail(_grads, _headWeight), p, h);
        _k.ColumnSums(new Index2D(outputs, Runs), batch, outputs, _dLogits.View, batch * outputs, Tail(_grads, _headBias), p);
        _dH!.View.SubView(0, (long)Runs * aboveRun).MemSetToZero();
        Gemm(batch, h, outputs, _dLogits.View, batch * outputs, outputs, 1, Tail(_params, _headWeight), p, h, 1, Tail(_dH, (long)(steps - 1) * batch * h), aboveRun, h);

        var cells = new Index2D(batch * h, Runs);
        var dZh = gru ? _dZh! : _dZx!;
        for (int k = _layers.Length - 1; k >= 0; k--)
        {
            if (_kind == CellKinds.Program)
            {
                BackwardCellLayer(k);
                continue;
            }

            var l = _layers[k];
            var whh = Tail(_params, l.WeightHh);
            var hBuf = _h[k];
            _dc!.View.SubView(0, (long)Runs * carryRun).MemSetToZero();
            for (int t = steps - 1; t >= 0; t--)
            {
                ArrayView<float> dh;
                int dhRun;
                if (t == steps - 1)
                {
                    dh = Tail(_dH, (long)t * batch * h);
                    dhRun = aboveRun;
                }
                else
                {
                    // dL/dh_t = dZh_{t+1}·W_hh + (dL/dh_t from above, plus the GRU's direct path z⊙dh_{t+1}).
                    var (baseView, baseRun) = gru ? (Tail(_dhBase!, 0), carryRun) : (Tail(_dH, (long)t * batch * h), aboveRun);
                    Gemm(batch, h, gh, Tail(dZh, (long)(t + 1) * batch * gh), zRun, gh, 1, whh, p, h, 1, _dhCur!.View, carryRun, h, baseView, baseRun, h, 1);
                    dh = _dhCur.View;
                    dhRun = carryRun;
                }

                var args = new CellArgs
                {
                    Batch = batch, Hidden = h, ZRun = zRun, StateRun = stateRun, DhRun = dhRun, CarryRun = carryRun, AboveRun = aboveRun,
                    HasPrevious = t > 0 ? 1 : 0,
                };
                var act = Tail(_z[k], (long)t * batch * gh);
                var dzx = Tail(_dZx!, (long)t * batch * gh);
                if (gru)
                {
                    var abovePrev = t > 0 ? Tail(_dH, (long)(t - 1) * batch * h) : Tail(_dH, 0);
                    _k.GruBackward(cells, args, act, Tail(_hh[k], (long)t * batch * gh), Tail(hBuf, (long)t * batch * h), dh, abovePrev, _dhBase!.View, dzx, Tail(dZh, (long)t * batch * gh));
                }
                else
                {
                    var c = _c[k];
                    _k.LstmBackward(cells, args, _kind, act, Tail(c, (long)t * batch * h), Tail(c, (long)(t + 1) * batch * h), dh, _dc.View, dzx);
                }
            }

            // Weight gradients as two products over all steps: dW_ih = dZxᵀ·input, dW_hh = dZhᵀ·H_prev; biases are column sums.
            var (input, inputRun) = k == 0 ? (Tail(_x!, 0), rows * Config.InputSize) : (Tail(_h[k - 1], batch * h), stateRun);
            Gemm(gh, l.Inputs, rows, _dZx!.View, zRun, 1, gh, input, inputRun, l.Inputs, 1, Tail(_grads, l.WeightIh), p, l.Inputs);
            Gemm(gh, h, rows, dZh.View, zRun, 1, gh, hBuf.View, stateRun, h, 1, Tail(_grads, l.WeightHh), p, h);
            _k.ColumnSums(new Index2D(gh, Runs), rows, gh, _dZx.View, zRun, Tail(_grads, l.BiasIh), p);
            _k.ColumnSums(new Index2D(gh, Runs), rows, gh, dZh.View, zRun, Tail(_grads, l.BiasHh), p);
            if (_kind == CellKinds.UrLstm)
            {
                _k.ForgetBiasGradient(new Index2D(h, Runs), h, p, l.BiasIh, l.ForgetBias, _grads.View);
            }

            if (k > 0)
            {
                // dL/dh of the layer below at every step: dZx · W_ih.
                Gemm(rows, l.Inputs, gh, _dZx.View, zRun, gh, 1, Tail(_params, l.WeightIh), p, l.Inputs, 1, _dH.View, aboveRun, h);
            }
        }
    }

    /// <summary>C[r] = A[r]·B[r] (+ D[r]) over every run; strides as in <see cref="GemmArgs"/>.</summary>
    private void Gemm(
        int m, int n, int k, ArrayView<float> a, int aRun, int aRow, int aCol, ArrayView<float> b, int bRun, int bRow, int bCol,
        ArrayView<float> c, int cRun, int cRow, ArrayView<float> d = default, int dRun = 0, int dRow = 0, int dCol = 0)
    {
        bool hasD = d.IsValid;
        var g = new GemmArgs
        {
            M = m, N = n, K = k, ARun = aRun, ARow = aRow, ACol = aCol, BRun = bRun, BRow = bRow, BCol = bCol, CRun = cRun, CRow = cRow,
            DRun = dRun, DRow = dRow, DCol = dCol, HasD = hasD ? 1 : 0,
        };
        _k.Gemm(BatchedGemm.Config(m, n, Runs, _device.GemmThreads), g, a, b, c, hasD ? d : c);
    }

    private void Ensure(int batch, int steps, bool training)
    {
        if (batch <= _capBatch && steps <= _capSteps && (!training || _capTraining))
        {
            return;
        }

        int b = Math.Max(batch, _capBatch);
        int t = Math.Max(steps, _capSteps);
        bool tr = training || _capTraining;
        ReleaseActivations();
        int h = Config.Hidden;
        long runs = Runs;
        long rows = (long)b * t;
        CheckSize(runs * rows * _gh, "activations");
        _xRaw = Allocate(runs * rows * Config.InputSize);
        _x = Allocate(runs * rows * Config.InputSize);
        int layers = _layers.Length;
        _z = new DeviceBuffer[layers];
        _hh = new DeviceBuffer[layers];
        _h = new DeviceBuffer[layers];
        _c = new DeviceBuffer[layers];
        for (int k = 0; k < layers; k++)
        {
            _z[k] = Allocate(runs * rows * _gh);
            _h[k] = Allocate(runs * (t + 1) * b * h);
            if (_kind == CellKinds.Gru)
            {
                _hh[k] = Allocate(runs * rows * _gh);
            }
            else if (_kind != CellKinds.Program)
            {
                _c[k] = Allocate(runs * (t + 1) * b * h);
            }
        }

        if (_kind == CellKinds.Program)
        {
            AllocateCellActivations(runs, b, t, tr);
        }

        _logits = Allocate(runs * b * Config.Outputs);
        if (tr)
        {
            _dZx = Allocate(runs * rows * _gh);
            _dZh = _kind == CellKinds.Gru ? Allocate(runs * rows * _gh) : null;
            _dH = Allocate(runs * rows * h);
            _dhCur = Allocate(runs * b * h);
            _dhBase = Allocate(runs * b * h);
            _dc = Allocate(runs * b * h);
            _dLogits = Allocate(runs * b * Config.Outputs);
            _rowLoss = Allocate(runs * b);
            _loss = Allocate(runs);
            _labels = _acc.Allocate1D<int>(runs * b);
        }

        // Slots no run has written yet are computed too (GpuSweepBatch); zeros keep that arithmetic tame.
        _xRaw.View.MemSetToZero();
        _dLogits?.View.MemSetToZero();
        _capBatch = b;
        _capSteps = t;
        _capTraining = tr;
    }

    private void ReleaseActivations()
    {
        foreach (var buffer in new[] { _xRaw, _x, _dZx, _dZh, _dH, _dhCur, _dhBase, _dc, _logits, _dLogits, _rowLoss, _loss }.Concat(_z).Concat(_hh).Concat(_h).Concat(_c))
        {
            buffer?.Dispose();
        }

        _labels?.Dispose();
        _labels = null;
        ReleaseCellActivations();
        _capBatch = 0;
        _capSteps = 0;
        _capTraining = false;
        _batch = 0;
        _hasTrainingState = false;
    }

    private static void CheckSize(long elements, string what)
    {
        if (elements > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(what, elements, $"The {what} of all runs need {elements} elements; kernels index at most 2^31. Use fewer runs per batch.");
        }
    }

    private void RequireTrainingState()
    {
        if (!_hasTrainingState)
        {
            throw new InvalidOperationException("Backward needs a preceding Forward with training = true.");
        }
    }

    private void CopyOut(DeviceBuffer source, int run, IReadOnlyList<Parameter> destination, bool gradients)
    {
        CheckRun(run);
        var flat = new float[ParameterCount];
        source.View.SubView((long)run * ParameterCount, ParameterCount).CopyToCPU(flat);
        foreach (var (slot, p) in Match(destination))
        {
            flat.AsSpan(slot.Offset, slot.Length).CopyTo(gradients ? p.Gradient : p.Value);
        }
    }

    private IEnumerable<(Slot Slot, Parameter Parameter)> Match(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count != _slots.Length)
        {
            throw new ArgumentException(
                $"{parameters.Count} parameters given; a {Config.Variant.Name()} model of this shape has {_slots.Length}: {string.Join(", ", _slots.Select(s => s.Name))}.",
                nameof(parameters));
        }

        for (int i = 0; i < _slots.Length; i++)
        {
            var s = _slots[i];
            var p = parameters[i];
            if (p.Name != s.Name || !p.Shape.SequenceEqual(s.Shape))
            {
                throw new ArgumentException(
                    $"Parameter {i} is {p.Name} [{string.Join(", ", p.Shape)}]; expected {s.Name} [{string.Join(", ", s.Shape)}].", nameof(parameters));
            }

            yield return (s, p);
        }
    }

    private void CheckRun(int run)
    {
        if ((uint)run >= (uint)Runs)
        {
            throw new ArgumentOutOfRangeException(nameof(run), run, $"run must be in 0..{Runs - 1}.");
        }
    }

    private int Offset(string name) => _slots.First(s => s.Name == name).Offset;

    private int OffsetOrZero(string name) => _slots.FirstOrDefault(s => s.Name == name)?.Offset ?? 0;

    private DeviceBuffer Allocate(long length) => _acc.Allocate1D<float>(Math.Max(length, 1));

    private static void Fill(DeviceBuffer buffer, float value)
    {
        var host = new float[buffer.Length];
        Array.Fill(host, value);
        buffer.View.CopyFromCPU(host);
    }

    private static ArrayView<float> Tail(DeviceBuffer buffer, long offset) => buffer.View.SubView(offset, buffer.Length - offset);

    private enum OptimizerKind
    {
        None,
        Adam,
        Sgd,
    }

    private sealed record Slot(string Name, int[] Shape, int Offset, int Length);

    private sealed record LayerSlots(int WeightIh, int WeightHh, int BiasIh, int BiasHh, int ForgetBias, int Inputs);

    /// <summary>Chunk and tensor tables of the clipping kernels (a fixed function of the parameter layout).</summary>
    private sealed class ClipTables : IDisposable
    {
        public ClipTables(Accelerator acc, Slot[] slots, int runs)
        {
            var chunks = new List<int>();
            var tensors = new List<int>();
            foreach (var s in slots)
            {
                tensors.Add(chunks.Count / 2);
                for (int start = 0; start < s.Length; start += Clipping.Chunk)
                {
                    chunks.Add(s.Offset + start);
                    chunks.Add(s.Offset + Math.Min(s.Length, start + Clipping.Chunk));
                }

                tensors.Add(chunks.Count / 2);
            }

            ChunkCount = chunks.Count / 2;
            Chunks = acc.Allocate1D(chunks.ToArray());
            Tensors = acc.Allocate1D(tensors.ToArray());
            Partial = acc.Allocate1D<double>((long)runs * ChunkCount);
        }

        public int ChunkCount { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> Chunks { get; }

        public MemoryBuffer1D<int, Stride1D.Dense> Tensors { get; }

        public MemoryBuffer1D<double, Stride1D.Dense> Partial { get; }

        public void Dispose()
        {
            Chunks.Dispose();
            Tensors.Dispose();
            Partial.Dispose();
        }
    }
}
