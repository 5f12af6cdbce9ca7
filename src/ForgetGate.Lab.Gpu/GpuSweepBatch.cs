using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Gpu;

/// <summary>
/// Sweep batching through the engine seam (DESIGN.md §13): <see cref="Members"/> runs of one network shape, each
/// trained by its own, unchanged runner (own optimizer, strategy, data order, checkpoints, rows), whose networks share
/// launches. Every seam call (Forward, Backward, CopyForgetGates) of a member waits at a rendezvous until every member
/// still in the batch has a call waiting; the last to arrive launches them all, one launch per kind of call and input
/// shape, the run index being a grid dimension. A member that leaves (its run finished, failed or was cancelled)
/// no longer holds the others back.
/// </summary>
/// <remarks>
/// Why a run's numbers do not depend on its batch: each input shape (batch, steps, training) has its own
/// <see cref="GpuRecurrentBatch"/> of <see cref="Members"/> slots, and member m only ever writes slot m (its parameters,
/// uploaded at each of its Forwards as the seam requires, its input, its output gradient). A launch computes every slot,
/// also those of members without a call of that shape: such a slot recomputes, from its own unchanged input and
/// parameters, exactly what it computed last, so a member's activations between its Forward and its Backward are the
/// same whatever launched in between. No kernel reads across slots and every reduction has a fixed order, so slot m's
/// results are those of a batch of one (the batch tests check this bit for bit).
/// <para>
/// Rounds never deadlock as long as every member either makes its next call or leaves: the runs are independent, and a
/// member's runner does nothing between calls that waits for another member.
/// </para>
/// </remarks>
public sealed class GpuSweepBatch : IDisposable
{
    // A monitor (not System.Threading.Lock): members wait on it for their round.
    private readonly object _gate = new();
    private readonly Func<GpuDevice> _openDevice;
    private readonly Call?[] _pending;
    private readonly bool[] _left;
    private readonly bool[] _joined;
    private readonly Shape?[] _lastShape;
    private readonly Dictionary<Shape, GpuRecurrentBatch> _instances = [];
    private GpuDevice? _device;
    private RecurrentModelConfig? _config;
    private int _live;
    private int _waiting;
    private long _calls;
    private long _launchedCalls;
    private long _launches;
    private long _rounds;
    private bool _disposed;

    /// <summary>A batch of <paramref name="members"/> seats on the device <paramref name="openDevice"/> returns (opened at the first network).</summary>
    public GpuSweepBatch(int members, Func<GpuDevice> openDevice)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        ArgumentNullException.ThrowIfNull(openDevice);
        Members = members;
        _openDevice = openDevice;
        _pending = new Call?[members];
        _left = new bool[members];
        _joined = new bool[members];
        _lastShape = new Shape?[members];
        _live = members;
    }

    /// <summary>Seats in the batch (runs claimed together).</summary>
    public int Members { get; }

    /// <summary>What the batch did so far: seam calls served, launches that served them, and rounds.</summary>
    public GpuSweepBatchStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new GpuSweepBatchStatistics(Members, _calls, _launchedCalls, _launches, _rounds);
            }
        }
    }

    /// <summary>
    /// The engine member <paramref name="member"/>'s run builds its network with (instead of <c>model.engine: gpu</c>'s
    /// shared engine). Its first network of the batch's shape takes the seat; any other network it asks for (another
    /// shape, a second copy) is an ordinary gpu network, and a run whose network is not of the batch's shape leaves.
    /// </summary>
    public IModelEngine EngineFor(int member)
    {
        CheckMember(member);
        return new SeatEngine(this, member);
    }

    /// <summary>Member <paramref name="member"/> will make no more calls (its run ended, however); idempotent.</summary>
    public void Leave(int member)
    {
        CheckMember(member);
        lock (_gate)
        {
            if (_left[member])
            {
                return;
            }

            _left[member] = true;
            _live--;
            TryRunRound();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_device is { } device)
            {
                lock (device.Gate)
                {
                    foreach (var instance in _instances.Values)
                    {
                        instance.Dispose();
                    }
                }
            }

            _instances.Clear();
        }
    }

    private IRecurrentNetwork Create(int member, RecurrentModelConfig config)
    {
        bool seat;
        bool sameShape;
        GpuDevice device;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _device ??= _openDevice();
            device = _device;
            _config ??= config;
            sameShape = _config.Equals(config);
            seat = !_joined[member] && !_left[member] && sameShape;
            _joined[member] = true;
        }

        if (seat)
        {
            return new SeatNetwork(this, member, config);
        }

        // Not of the batch's shape (or a second network): computed alone, with the same kernels and so the same numbers.
        if (!sameShape)
        {
            Leave(member);
        }

        return new GpuNetwork(device, config);
    }

    /// <summary>Waits until every member still in the batch has a call, then launches them (the last to arrive does).</summary>
    private void Rendezvous(Call call)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_left[call.Member])
            {
                throw new InvalidOperationException($"Member {call.Member} left the batch and cannot call it again.");
            }

            _pending[call.Member] = call;
            _waiting++;
            TryRunRound();
            while (!call.Done)
            {
                Monitor.Wait(_gate);
            }
        }

        if (call.Error is { } error)
        {
            throw new InvalidOperationException($"The batched launch of this run's {call.Kind} failed: {error.Message}", error);
        }
    }

    /// <summary>Under <see cref="_gate"/>: when every live member waits, runs the round and wakes them.</summary>
    private void TryRunRound()
    {
        if (_waiting == 0 || _waiting < _live)
        {
            return;
        }

        var calls = new List<Call>(_waiting);
        for (int m = 0; m < _pending.Length; m++)
        {
            if (_pending[m] is { } c)
            {
                calls.Add(c);
                _pending[m] = null;
            }
        }

        _waiting = 0;
        _rounds++;
        lock (_device!.Gate)
        {
            // Reads of the last forward's state first (they need each member's own last Forward), then forwards.
            foreach (var group in calls.Where(c => c.Kind != CallKind.Forward).GroupBy(c => (c.Kind, Shape: _lastShape[c.Member]!.Value)))
            {
                Launch(group.Key.Kind, group.Key.Shape, [.. group]);
            }

            foreach (var group in calls.Where(c => c.Kind == CallKind.Forward).GroupBy(c => c.Shape))
            {
                Launch(CallKind.Forward, group.Key, [.. group]);
            }
        }

        foreach (var c in calls)
        {
            c.Done = true;
        }

        Monitor.PulseAll(_gate);
    }

    private void Launch(CallKind kind, Shape shape, List<Call> calls)
    {
        _calls += calls.Count;
        try
        {
            var instance = Instance(shape);
            switch (kind)
            {
                case CallKind.Forward:
                    _launches++;
                    _launchedCalls += calls.Count;
                    instance.Prepare(shape.Batch, shape.Steps, shape.Training);
                    foreach (var c in calls)
                    {
                        instance.SetParameters(c.Member, c.Network.Parameters);
                        instance.SetInput(c.Member, c.Input, shape.Batch, shape.Steps);
                        _lastShape[c.Member] = shape;
                    }

                    instance.ForwardSlots(shape.Batch, shape.Steps, shape.Training);
                    foreach (var c in calls)
                    {
                        instance.CopyLogits(c.Member, c.Output);
                    }

                    break;
                case CallKind.Backward:
                    _launches++;
                    _launchedCalls += calls.Count;
                    foreach (var c in calls)
                    {
                        instance.SetOutputGradient(c.Member, c.Input);
                    }

                    instance.BackwardSlots();
                    foreach (var c in calls)
                    {
                        instance.GetGradients(c.Member, c.Network.Parameters);
                    }

                    break;
                default:
                    // Forget gates are copied from the device's activations of each member's last Forward: no launch.
                    foreach (var c in calls)
                    {
                        c.Output = instance.CopyForgetGates(c.Member, c.Layer);
                    }

                    break;
            }
        }
#pragma warning disable CA1031 // The error belongs to the calls of this launch: each member's run fails with it, the batch goes on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            foreach (var c in calls)
            {
                c.Error = e;
            }
        }
    }

    private GpuRecurrentBatch Instance(Shape shape)
    {
        if (!_instances.TryGetValue(shape, out var instance))
        {
            instance = new GpuRecurrentBatch(_device!, _config!, Members);
            _instances[shape] = instance;
        }

        return instance;
    }

    private void CheckMember(int member)
    {
        if ((uint)member >= (uint)Members)
        {
            throw new ArgumentOutOfRangeException(nameof(member), member, $"member must be in 0..{Members - 1}.");
        }
    }

    private enum CallKind
    {
        Forward,
        Backward,
        ForgetGates,
    }

    /// <summary>The input shape of a forward pass: each has its own device copy of the batch.</summary>
    private readonly record struct Shape(int Batch, int Steps, bool Training);

    /// <summary>One member's waiting call; the member's thread is blocked until <see cref="Done"/>, so its buffers are stable.</summary>
    private sealed class Call(CallKind kind, int member, SeatNetwork network)
    {
        public CallKind Kind { get; } = kind;

        public int Member { get; } = member;

        public SeatNetwork Network { get; } = network;

        public Shape Shape { get; init; }

        public float[] Input { get; init; } = [];

        public float[] Output { get; set; } = [];

        public int Layer { get; init; }

        public bool Done { get; set; }

        public Exception? Error { get; set; }
    }

    private sealed class SeatEngine(GpuSweepBatch batch, int member) : IModelEngine
    {
        public string Name => GpuEngine.EngineName;

        public IRecurrentNetwork Create(RecurrentModelConfig config, ComputePool pool)
        {
            ArgumentNullException.ThrowIfNull(config);
            return batch.Create(member, config.Validate());
        }
    }

    /// <summary>A member's network: host parameter buffers (the seam's truth) and calls that go through the rendezvous.</summary>
    private sealed class SeatNetwork : IRecurrentNetwork
    {
        private readonly GpuSweepBatch _owner;
        private readonly int _member;
        private readonly Parameter[] _parameters;
        private Shape? _last;

        public SeatNetwork(GpuSweepBatch owner, int member, RecurrentModelConfig config)
        {
            _owner = owner;
            _member = member;
            Config = config;
            using var template = new RecurrentModel(config);
            _parameters = [.. template.Parameters.Select(p => new Parameter(p.Name, [.. p.Shape]))];
        }

        public string Engine => GpuEngine.EngineName;

        public RecurrentModelConfig Config { get; }

        public IReadOnlyList<Parameter> Parameters => _parameters;

        public void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> output, bool training)
        {
            GpuNetwork.CheckInput(x, batch, steps, Config.InputSize);
            int n = batch * Config.Outputs;
            if (output.Length < n)
            {
                throw new ArgumentException($"Output has {output.Length} values; expected batch·Outputs = {n}.", nameof(output));
            }

            var shape = new Shape(batch, steps, training);
            var call = new Call(CallKind.Forward, _member, this) { Shape = shape, Input = x.ToArray(), Output = new float[n] };
            _owner.Rendezvous(call);
            call.Output.CopyTo(output);
            _last = shape;
        }

        public void Backward(ReadOnlySpan<float> dOutput)
        {
            if (_last is not { Training: true } last)
            {
                throw new InvalidOperationException("Backward needs a preceding Forward with training = true.");
            }

            int n = last.Batch * Config.Outputs;
            if (dOutput.Length != n)
            {
                throw new ArgumentException($"dOutput has {dOutput.Length} values; expected batch·Outputs = {n}.", nameof(dOutput));
            }

            _owner.Rendezvous(new Call(CallKind.Backward, _member, this) { Input = dOutput.ToArray() });
        }

        public int CopyForgetGates(int layer, Span<float> destination)
        {
            if (_last is not { } last)
            {
                throw new InvalidOperationException("CopyForgetGates needs a preceding Forward.");
            }

            if ((uint)layer >= (uint)Config.Layers)
            {
                throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in 0..{Config.Layers - 1}.");
            }

            int n = last.Steps * last.Batch * Config.Hidden;
            if (destination.Length < n)
            {
                throw new ArgumentException($"Destination has {destination.Length} values; expected at least steps·batch·hidden = {last.Steps}·{last.Batch}·{Config.Hidden} = {n}.", nameof(destination));
            }

            var call = new Call(CallKind.ForgetGates, _member, this) { Layer = layer };
            _owner.Rendezvous(call);
            call.Output.CopyTo(destination);
            return call.Output.Length;
        }

        public void Dispose() => _owner.Leave(_member);
    }
}

/// <summary>
/// What a <see cref="GpuSweepBatch"/> did: <paramref name="Calls"/> seam calls of its members in <paramref name="Rounds"/>
/// rounds; <paramref name="LaunchedCalls"/> of them (forward and backward passes) were served by <paramref name="Launches"/>
/// batched passes (forget-gate copies launch nothing).
/// </summary>
public sealed record GpuSweepBatchStatistics(int Members, long Calls, long LaunchedCalls, long Launches, long Rounds)
{
    /// <summary>Mean runs served per batched pass: the batching actually achieved (Members at best).</summary>
    public double RunsPerLaunch => Launches == 0 ? 0 : (double)LaunchedCalls / Launches;
}
